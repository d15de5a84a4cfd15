#include "alipay_notifier.hpp"

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <thread>

#include "net/http_client.hpp"

namespace chatglmd::sim {

struct AlipayNotifier::Impl : std::enable_shared_from_this<Impl> {
  boost::asio::io_context io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{io.get_executor()};
  net::HttpClient client{io};
  OnAttempt on_attempt;
  std::atomic<long> generation{0};
  std::thread thread;

  struct Job {
    std::string out_trade_no, url, body;
    std::vector<std::chrono::milliseconds> schedule;
    int attempt = 0;
    long generation = 0;
  };

  void attempt(std::shared_ptr<Job> job) {
    if (job->generation != generation.load()) return;
    ++job->attempt;
    net::HttpRequest req;
    req.method = "POST";
    req.url = job->url;
    // Alipay's real header; strict form parsers refuse it, which is the point.
    req.headers = {{"Content-Type", "application/x-www-form-urlencoded; text/html; charset=utf-8"},
                   {"User-Agent", "Mozilla/4.0"}};
    req.body = job->body;
    const auto t = std::chrono::milliseconds(3000);
    // Handlers hold the state weakly: it owns the loop that holds them, so a strong reference in
    // a retry still waiting at shutdown was a cycle that was never freed.
    client.async_fetch(std::move(req), net::Timeouts{t, t, t, t},
                       [weak = weak_from_this(), job](net::FetchResult r) {
                         auto self = weak.lock();
                         if (!self) return;
                         NotifyAttempt a{job->out_trade_no, job->url, job->attempt};
                         if (r.ok()) {
                           a.status = r.response->status;
                           a.reply = r.response->body;
                           a.ok = a.status == 200 && a.reply == "success";
                         } else {
                           a.reply = r.error.message;
                         }
                         if (self->on_attempt) self->on_attempt(a);
                         const auto index = static_cast<std::size_t>(job->attempt - 1);
                         if (a.ok || index >= job->schedule.size()) return;
                         auto timer = std::make_shared<boost::asio::steady_timer>(self->io);
                         timer->expires_after(job->schedule[index]);
                         timer->async_wait([weak, job, timer](boost::system::error_code) {
                           if (auto again = weak.lock()) again->attempt(job);
                         });
                       });
  }
};

AlipayNotifier::AlipayNotifier(OnAttempt on_attempt) : impl_(std::make_shared<Impl>()) {
  impl_->on_attempt = std::move(on_attempt);
  impl_->thread = std::thread([impl = impl_.get()] { impl->io.run(); });
}

AlipayNotifier::~AlipayNotifier() {
  impl_->generation++;
  impl_->work.reset();
  impl_->io.stop();
  impl_->thread.join();
}

void AlipayNotifier::send(std::string out_trade_no, std::string url, std::string body,
                          std::vector<std::chrono::milliseconds> schedule) {
  auto job = std::make_shared<Impl::Job>();
  job->out_trade_no = std::move(out_trade_no);
  job->url = std::move(url);
  job->body = std::move(body);
  job->schedule = std::move(schedule);
  job->generation = impl_->generation.load();
  boost::asio::post(impl_->io, [weak = std::weak_ptr<Impl>(impl_), job] {
    if (auto impl = weak.lock()) impl->attempt(job);
  });
}

void AlipayNotifier::cancel_all() {
  impl_->generation++;
}

}  // namespace chatglmd::sim
