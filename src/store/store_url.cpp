// Apart from open_store.cpp: the config reads it too, also in builds without the store (fuzz).
#include "store/open_store.hpp"

namespace chatglmd::store {

bool is_postgres_url(const std::string& url) {
  return url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0;
}

}  // namespace chatglmd::store
