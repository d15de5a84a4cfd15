#pragma once
// The answer of query_product_list, kept in memory: the catalogue changes a few times a year and
// is read on every visit to the buy page. It is read again only when the store's change stamp
// for products moved (`product add/enable/disable` from another process bumps it), the same
// pattern as the word list (app/filter_reloader).
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "http/response.hpp"
#include "store/records.hpp"

namespace chatglmd::store {
class ProductRepository;
}

namespace chatglmd::http {

class ProductCatalogue {
 public:
  // Loads at once. check_on_read: checked_answer() checks the stamp (see there); false: it
  // serves the copy in memory and only the poll refreshes it.
  explicit ProductCatalogue(store::ProductRepository& products, bool check_on_read = false);
  ProductCatalogue(const ProductCatalogue&) = delete;
  ProductCatalogue& operator=(const ProductCatalogue&) = delete;

  void reload();
  // One poll: reloads when the products changed since the last load.
  bool reload_if_changed();
  // The envelope with the enabled products, ready to send.
  std::shared_ptr<const Response> answer() const;
  // The same after a check of the change stamp, so a `product add` from another process shows
  // on the next request. Meant for a repository on a connection of its own that never waits
  // (busy timeout 0): the check reads one row from SQLite's page cache and shared WAL index, and
  // when it cannot run (busy, an error) the answer in memory is served.
  std::shared_ptr<const Response> checked_answer();

 private:
  store::ProductRepository& products_;
  bool check_on_read_;
  // The poll thread and SIGHUP may reload at once: one at a time, and version_ only under it.
  std::mutex reload_mutex_;
  std::int64_t version_ = -1;
  // Held only to copy or swap the pointer (see filter::FilterHolder on atomic<shared_ptr>).
  mutable std::mutex answer_mutex_;
  std::shared_ptr<const Response> answer_;
};

// query_product_list's answer for these products: the enabled ones, in the order given.
Response product_list_answer(const std::vector<store::Product>& products);

}  // namespace chatglmd::http
