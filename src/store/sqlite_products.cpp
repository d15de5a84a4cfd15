#include "store/row_readers.hpp"
#include "store/sqlite_repos.hpp"

namespace chatglmd::store {
using rows::read_product;
constexpr const char* kSelect = rows::kProductSelect;
namespace {

constexpr const char* kStamp = "openai_product";

}  // namespace

std::vector<Product> SqliteProducts::list(bool enabled_only) {
  std::lock_guard lock(db_.mutex());
  auto st = db_.prepare(std::string(kSelect) +
                        "WHERE (?1 = 0 OR is_enabled = 1) ORDER BY sort, product_id");
  st.bind(1, enabled_only ? 1 : 0);
  std::vector<Product> out;
  while (st.step()) out.push_back(read_product(st));
  return out;
}

std::optional<Product> SqliteProducts::get(std::int64_t product_id) {
  std::lock_guard lock(db_.mutex());
  auto st = db_.prepare(std::string(kSelect) + "WHERE product_id = ?1");
  st.bind(1, product_id);
  if (!st.step()) return std::nullopt;
  return read_product(st);
}

bool SqliteProducts::add(const Product& p) {
  std::lock_guard lock(db_.mutex());
  WriteTransaction tx(db_);
  auto exists = db_.prepare("SELECT 1 FROM openai_product WHERE product_id = ?1");
  if (exists.bind(1, p.product_id).step()) return false;
  db_.prepare(
         "INSERT INTO openai_product (product_id, product_name, product_desc, quota, price_fen, "
         "product_model_types, is_enabled, sort, created_at, updated_at) "
         "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)")
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
  bump_change_stamp(db_, kStamp);
  tx.commit();
  return true;
}

bool SqliteProducts::set_enabled(std::int64_t product_id, bool enabled) {
  std::lock_guard lock(db_.mutex());
  WriteTransaction tx(db_);
  bool changed =
      db_.prepare(
             "UPDATE openai_product SET is_enabled = ?2, updated_at = ?3 WHERE product_id = ?1")
          .bind(1, product_id)
          .bind(2, enabled ? 1 : 0)
          .bind(3, wall_clock_ms())
          .exec() == 1;
  if (changed) bump_change_stamp(db_, kStamp);
  tx.commit();
  return changed;
}

std::int64_t SqliteProducts::version() {
  std::lock_guard lock(db_.mutex());
  return read_change_stamp(db_, kStamp);
}

VersionedProducts SqliteProducts::snapshot() {
  std::lock_guard lock(db_.mutex());
  ReadTransaction tx(db_);
  VersionedProducts out;
  out.version = read_change_stamp(db_, kStamp);
  auto st = db_.prepare(std::string(kSelect) + "ORDER BY sort, product_id");
  while (st.step()) out.items.push_back(read_product(st));
  return out;
}

}  // namespace chatglmd::store
