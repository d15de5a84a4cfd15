// Liveness, readiness, metrics and the static page.
#include "http/handlers/app_services.hpp"
#include "http/handlers/chat_pipeline.hpp"
#include "http/handlers/static_files.hpp"
#include "metrics/metrics.hpp"

namespace chatglmd::http {

void register_ops_routes(Router& router, const AppServices& s) {
  router.add_sync("GET", "/healthz", [](const Request&) { return Response::text(200, "ok\n"); });

  // Readiness touches the store: keep it off the io threads.
  auto ready = s.ready;
  router.add_blocking("GET", "/readyz", [ready](const Request&) {
    if (!ready || ready()) return Response::text(200, "ready\n");
    return Response::text(503, "not ready\n");
  });

  metrics::Registry* registry = s.registry ? s.registry : &metrics::default_registry();
  // Prometheus scrapes /metrics, not /readyz: the same answer as a gauge lets an alert see it.
  // Blocking like /readyz, since readiness touches the store.
  auto& ready_gauge =
      registry->gauge("chatglmd_ready", "1 while GET /readyz answers ready, else 0").get();
  router.add_blocking("GET", "/metrics", [registry, ready, &ready_gauge](const Request&) {
    ready_gauge.set(!ready || ready() ? 1 : 0);
    return Response::text(200, registry->render(), std::string(metrics::kContentType));
  });

  std::string web_dir = s.settings.web_dir;
  auto page = [web_dir](const Request& req) {
    if (auto r = serve_static(web_dir, req.segments)) return *r;
    return envelope_status(404, code::not_found, "no such file");
  };
  router.add_sync("GET", "/", page);
  router.add_sync("GET", "/{file}", page);
  router.add_sync("GET", "/static/{*path}", page);
}

void register_routes(Router& router, const AppServices& services) {
  register_ops_routes(router, services);
  register_auth_routes(router, services);
  register_sale_routes(router, services);
  register_notify_routes(router, services);
  auto chat = make_chat_context(services);  // one budget per user across both chat paths
  register_chat_routes(router, chat);
  register_openai_routes(router, chat);
}

}  // namespace chatglmd::http
