#include "store/pg_repos.hpp"
#include "store/row_readers.hpp"

namespace chatglmd::store {
using rows::read_product;
constexpr const char* kSelect = rows::kProductSelect;
namespace {

constexpr const char* kStamp = "openai_product";

}  // namespace

std::vector<Product> PgProducts::list(bool enabled_only) {
  std::lock_guard lock(db_.mutex());
  auto st = db_.prepare(std::string(kSelect) +
                        "WHERE ($1::integer = 0 OR is_enabled = 1) ORDER BY sort, product_id");
  st.bind(1, enabled_only ? 1 : 0);
  std::vector<Product> out;
  while (st.step()) out.push_back(read_product(st));
  return out;
}

std::optional<Product> PgProducts::get(std::int64_t product_id) {
  std::lock_guard lock(db_.mutex());
  auto st = db_.prepare(std::string(kSelect) + "WHERE product_id = $1");
  st.bind(1, product_id);
  if (!st.step()) return std::nullopt;
  return read_product(st);
}

bool PgProducts::add(const Product& p) {
  std::lock_guard lock(db_.mutex());
  PgWriteTransaction tx(db_);
  const int inserted =
      db_.prepare(
             "INSERT INTO openai_product (product_id, product_name, product_desc, quota, "
             "price_fen, product_model_types, is_enabled, sort, created_at, updated_at) "
             "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) ON CONFLICT (product_id) DO NOTHING")
          .bind(1, p.product_id)
          .bind(2, p.name)
          .bind(3, p.desc)
          .bind(4, p.quota)
          .bind(5, p.price.value)
          .bind(6, merge_models("", p.model_types))
          .bind(7, p.enabled ? 1 : 0)
          .bind(8, p.sort)
          .bind(9, wall_clock_ms())
          .exec();
  if (inserted == 1) bump_change_stamp(db_, kStamp);
  tx.commit();
  return inserted == 1;
}

bool PgProducts::set_enabled(std::int64_t product_id, bool enabled) {
  std::lock_guard lock(db_.mutex());
  PgWriteTransaction tx(db_);
  const bool changed =
      db_.prepare(
             "UPDATE openai_product SET is_enabled = $2, updated_at = $3 WHERE product_id = $1")
          .bind(1, product_id)
          .bind(2, enabled ? 1 : 0)
          .bind(3, wall_clock_ms())
          .exec() == 1;
  if (changed) bump_change_stamp(db_, kStamp);
  tx.commit();
  return changed;
}

std::int64_t PgProducts::version() {
  std::lock_guard lock(db_.mutex());
  return read_change_stamp(db_, kStamp);
}

VersionedProducts PgProducts::snapshot() {
  std::lock_guard lock(db_.mutex());
  PgReadTransaction tx(db_);
  VersionedProducts out;
  out.version = read_change_stamp(db_, kStamp);
  out.items = list(false);
  return out;
}

}  // namespace chatglmd::store
