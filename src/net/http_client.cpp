#include "net/http_client.hpp"

#include <boost/beast/core/string.hpp>
#include <future>

#include "net/exchange.hpp"

namespace chatglmd::net {

namespace {

class StreamHandleImpl final : public StreamHandle {
 public:
  explicit StreamHandleImpl(std::shared_ptr<detail::Exchange> exchange)
      : exchange_(std::move(exchange)) {}
  ~StreamHandleImpl() override { cancel(); }
  void cancel() override {
    if (exchange_) exchange_->cancel();
  }

 private:
  std::shared_ptr<detail::Exchange> exchange_;
};

// A refused URL still completes through the io_context, so callers see one code path.
class FailedHandle final : public StreamHandle {
 public:
  void cancel() override {}
};

}  // namespace

std::string HttpResponse::header(std::string_view name) const {
  for (const auto& [key, value] : headers)
    if (boost::beast::iequals(key, name)) return value;
  return {};
}

struct HttpClient::Impl {
  std::shared_ptr<detail::ClientShared> shared;

  std::shared_ptr<detail::Exchange> make(HttpRequest request, Timeouts timeouts,
                                         StreamCallbacks callbacks,
                                         std::optional<std::uint64_t> body_limit) {
    std::string why;
    auto url = parse_url(request.url, why);
    if (!url) {
      boost::asio::post(shared->pick_io(), [done = std::move(callbacks.on_done), why] {
        if (done) done(NetError{NetErrorKind::BadUrl, why});
      });
      return nullptr;
    }
    auto exchange = std::make_shared<detail::Exchange>(shared, std::move(*url), std::move(request),
                                                       timeouts, std::move(callbacks), body_limit);
    exchange->start();
    return exchange;
  }
};

HttpClient::HttpClient(boost::asio::io_context& io, Options options)
    : HttpClient([&io]() -> boost::asio::io_context& { return io; }, options) {}

HttpClient::HttpClient(LoopPicker pick, Options options) : impl_(std::make_unique<Impl>()) {
  impl_->shared = std::make_shared<detail::ClientShared>(std::move(pick), options);
}

HttpClient::HttpClient(boost::asio::io_context& io) : HttpClient(io, Options{}) {}

HttpClient::~HttpClient() = default;

void HttpClient::load_trust_store() {
  impl_->shared->tls_context();
}

void HttpClient::async_fetch(HttpRequest request, Timeouts timeouts,
                             std::function<void(FetchResult)> done) {
  auto response = std::make_shared<HttpResponse>();
  StreamCallbacks callbacks;
  callbacks.on_head = [response](int status, const Headers& headers) {
    response->status = status;
    response->headers = headers;
    return true;
  };
  callbacks.on_data = [response](std::string_view piece) {
    response->body.append(piece);
    return true;
  };
  callbacks.on_done = [response, done = std::move(done)](std::optional<NetError> error) {
    FetchResult result;
    if (error)
      result.error = std::move(*error);
    else
      result.response = std::move(*response);
    if (done) done(std::move(result));
  };
  impl_->make(std::move(request), timeouts, std::move(callbacks), impl_->shared->options.max_body);
}

FetchResult HttpClient::fetch(HttpRequest request, Timeouts timeouts) {
  std::promise<FetchResult> promise;
  auto future = promise.get_future();
  async_fetch(std::move(request), timeouts,
              [&promise](FetchResult result) { promise.set_value(std::move(result)); });
  return future.get();
}

std::shared_ptr<StreamHandle> HttpClient::async_stream(HttpRequest request, Timeouts timeouts,
                                                       StreamCallbacks callbacks) {
  auto exchange = impl_->make(std::move(request), timeouts, std::move(callbacks), std::nullopt);
  if (!exchange) return std::make_shared<FailedHandle>();
  return std::make_shared<StreamHandleImpl>(std::move(exchange));
}

void HttpClient::shut_down() {
  std::vector<std::shared_ptr<detail::Exchange>> running;
  {
    auto& shared = *impl_->shared;
    std::lock_guard lock(shared.live_mutex);
    shared.shut_down = true;
    for (auto& [raw, weak] : shared.live)
      if (auto e = weak.lock()) running.push_back(std::move(e));
  }
  for (auto& e : running) e->cancel();
}

}  // namespace chatglmd::net
