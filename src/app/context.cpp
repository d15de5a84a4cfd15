#include "app/context.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include "app/durations.hpp"
#include "app/gateway_runtime.hpp"
#include "app/store_access.hpp"
#include "pay/alipay_gateway.hpp"
#include "store/open_store.hpp"

namespace chatglmd::app {

CommandContext::CommandContext() = default;
CommandContext::~CommandContext() = default;

int usage_error(CommandContext& ctx, const std::string& message) {
  ctx.err << "chatglmd: " << message << "\n(run `chatglmd --help` for usage)\n";
  return kExitUsage;
}

std::optional<int> limit_flag(const CommandContext& ctx) {
  auto n = parse_integer(ctx.inv.flags.at("limit"));
  if (!n || *n <= 0 || *n > 1'000'000) return std::nullopt;
  return static_cast<int>(*n);
}

store::OpenResult open_configured_store(const Config& config, bool migrate) {
  store::StoreTarget target{config.store.url, "", config.store.path, config.store.synchronous,
                            migrate};
  if (!config.store.url.empty() && !config.store.password_file.empty()) {
    std::string error;
    auto password = read_secret_file(config.store.password_file, error);
    if (!password) {
      store::OpenResult result;
      result.error = "store.password_file: " + error;
      return result;
    }
    target.password = std::move(*password);
  }
  return store::open_store(target);
}

std::string CommandContext::store_name() const {
  return store::describe_store({config.store.url, "", config.store.path});
}

std::string CommandContext::explain_store_error(const std::string& error) const {
  return config.store.url.empty() ? with_store_access(error, config.store.path) : error;
}

store::Store* CommandContext::open_store(StoreAccess access) {
  if (store_) return store_.get();
  auto opened = open_configured_store(config, access == StoreAccess::create_or_upgrade);
  if (!opened.store) {
    err << "chatglmd: " << explain_store_error(opened.error) << "\n";
    return nullptr;
  }
  store_ = std::move(opened.store);
  return store_.get();
}

pay::PaymentGateway* CommandContext::open_gateway() {
  if (gateway_) return &gateway_->gateway();
  std::string error;
  auto close_after = config.jobs.count("timeout-close") ? config.jobs.at("timeout-close").after
                                                        : core::Millis{std::chrono::minutes(30)};
  gateway_ = GatewayRuntime::create(config.alipay, close_after, clock, error);
  if (!gateway_) {
    err << "chatglmd: cannot use the Alipay gateway: " << error << "\n";
    return nullptr;
  }
  return &gateway_->gateway();
}

std::string CommandContext::lease_owner(std::string_view role) const {
  char host[256] = "host";
  ::gethostname(host, sizeof host - 1);
  return fmt::format("{}:{}:{}", host, ::getpid(), role);
}

}  // namespace chatglmd::app
