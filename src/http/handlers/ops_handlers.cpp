// Liveness, readiness, metrics and the static page.
#include "http/handlers/app_services.hpp"
#include "http/handlers/chat_pipeline.hpp"
#include "http/handlers/static_files.hpp"
#include "metrics/metrics.hpp"

namespace chatglmd::http {

void register_ops_routes(Router& router, const AppServices& s) {
  router.add_sync("GET", "/healthz", [](const Request&) { return Response::text(200, "ok\n"); });

  // Readiness touches the store: keep it off the io threads.
  auto not_ready = s.not_ready;
  router.add_blocking("GET", "/readyz", [not_ready](const Request&) {
    std::string why = not_ready ? not_ready() : std::string();
    if (why.empty()) return Response::text(200, "ready\n");
    return Response::text(503, "not ready: " + why + "\n");
  });

  metrics::Registry* registry = s.registry ? s.registry : &metrics::default_registry();
  // Prometheus scrapes /metrics, not /readyz: the same answer as a gauge lets an alert see it.
  // Blocking like /readyz, since readiness touches the store.
  auto& ready_gauge =
      registry->gauge("chatglmd_ready", "1 while GET /readyz answers ready, else 0").get();
  router.add_blocking("GET", "/metrics", [registry, not_ready, &ready_gauge](const Request&) {
    ready_gauge.set(!not_ready || not_ready().empty() ? 1 : 0);
    return Response::text(200, registry->render(), std::string(metrics::kContentType));
  });

  std::string web_dir = s.settings.web_dir;
  auto page = [web_dir](const Request& req) {
    auto r = web_dir.empty() ? serve_embedded(req.segments, req.header("If-None-Match"))
                             : serve_static(web_dir, req.segments);
    if (r) return *r;
    return envelope_status(404, code::not_found, "no such file");
  };
  router.add_sync("GET", "/", page);
  router.add_sync("GET", "/{file}", page);
  router.add_sync("GET", "/static/{*path}", page);
  router.add_sync("GET", "/vendor/{file}", page);  // the page's pinned libraries (web/vendor)
}

void register_routes(Router& router, const AppServices& services) {
  register_ops_routes(router, services);
  register_auth_routes(router, services);
  register_sale_routes(router, services);
  register_notify_routes(router, services);
  auto chat = make_chat_context(services);  // one budget per user across both chat paths
  register_chat_routes(router, chat);
  register_openai_routes(router, chat);
  register_admin_routes(router, services);
}

}  // namespace chatglmd::http
