#pragma once
#include <memory>
#include <string>

#include "store/migrations.hpp"
#include "store/store.hpp"

namespace chatglmd::store {

// What opening a store (any backend) gave.
struct OpenResult {
  std::unique_ptr<Store> store;  // null on error
  MigrationReport migration;
  std::string error;
};

}  // namespace chatglmd::store
