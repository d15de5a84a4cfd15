// chatglmd-sim: a fake Alipay gateway and a fake ChatGLM v4 upstream in one HTTP server on
// 127.0.0.1, for the demo, the tests and the benchmarks.
//
// Flags:
//   --port N                 listen port (0 = pick a free one; default 0)
//   --port-file PATH         write the chosen port there once listening (atomically)
//   --threads N              io threads (default 1)
//   --exit-after-idle SECS   exit after this long without requests (default 0 = never)
//   --glm-api-key ID.SECRET  the ChatGLM API key whose JWTs are accepted
//   --glm-api-key-file PATH  the same, read from a file (trimmed)
//                            (default key: sim-key-id.sim-key-secret)
//   --chunk-delay-ms N       pause before each streamed piece (default 0)
//   --split-bytes N          cut the SSE bytes into writes of N bytes, inside UTF-8 characters
//                            (default 0 = one write per event)
//   --alipay-key PATH        "Alipay" private key that signs answers and notifies
//   --app-public-key PATH    the merchant app public key that verifies our requests
//   --seller-id PID          seller_id put into trades and notifies
//   (the Alipay half is enabled when both keys are given)
//
// Endpoints:
//   GET  /sim/health                          {"status":"ok","alipay":bool,"glm":true}
//   POST /api/paas/v4/chat/completions        fake ChatGLM (see glm_sim.hpp for behaviour)
//   /sim/glm/{fault,faults/clear,config,reset,stats}  ChatGLM fault injection and observation
//   /gateway.do, /sim/alipay/...              fake Alipay (see alipay_gateway_sim.hpp)
//
// SIGTERM or SIGINT stops the server; the exit code is then 0. Bad flags exit 2.
#include <boost/json.hpp>
#include <boost/program_options.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>

#if __has_include("alipay_gateway_sim.hpp")
#include "alipay_gateway_sim.hpp"
#define CHATGLMD_SIM_HAS_ALIPAY 1
#endif
#include "glm_sim.hpp"
#include "sim_server.hpp"

namespace po = boost::program_options;
using namespace chatglmd::sim;

namespace {

std::string trim(std::string text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return {};
  const auto last = text.find_last_not_of(" \t\r\n");
  return text.substr(first, last - first + 1);
}

bool write_port_file(const std::string& path, unsigned port) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!(out << port << "\n")) return false;
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);  // readers never see a half-written number
  return !ec;
}

}  // namespace

int main(int argc, char** argv) {
  int port = 0, threads = 1, exit_after_idle = 0, chunk_delay_ms = 0, split_bytes = 0;
  std::string port_file, glm_api_key = "sim-key-id.sim-key-secret", glm_api_key_file;
  std::string alipay_key, app_public_key, seller_id = "2088102177649450";
  po::options_description options("chatglmd-sim options");
  options.add_options()("help,h", "show this help")                                             //
      ("port", po::value(&port)->default_value(0), "listen port on 127.0.0.1 (0 = any)")        //
      ("port-file", po::value(&port_file), "write the chosen port to this file")                //
      ("threads", po::value(&threads)->default_value(1), "io threads")                          //
      ("exit-after-idle", po::value(&exit_after_idle)->default_value(0), "seconds, 0 = never")  //
      ("glm-api-key", po::value(&glm_api_key), "accepted ChatGLM API key <id>.<secret>")        //
      ("glm-api-key-file", po::value(&glm_api_key_file), "file holding the API key")            //
      ("chunk-delay-ms", po::value(&chunk_delay_ms)->default_value(0),
       "pause before each piece")  //
      ("split-bytes", po::value(&split_bytes)->default_value(0),
       "bytes per write (0 = per event)")                                               //
      ("alipay-key", po::value(&alipay_key), "Alipay private key PEM (signs answers)")  //
      ("app-public-key", po::value(&app_public_key), "merchant app public key PEM")     //
      ("seller-id", po::value(&seller_id), "seller_id of the fake merchant");
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, options), vm);
    po::notify(vm);
  } catch (const std::exception& e) {
    std::cerr << "chatglmd-sim: " << e.what() << "\n" << options;
    return 2;
  }
  if (vm.count("help")) {
    std::cout << options;
    return 0;
  }
  if (port < 0 || port > 65535 || threads < 1 || exit_after_idle < 0 || chunk_delay_ms < 0 ||
      split_bytes < 0) {
    std::cerr << "chatglmd-sim: a numeric flag is out of range\n";
    return 2;
  }
  if (!glm_api_key_file.empty()) {
    std::ifstream in(glm_api_key_file);
    if (!in) {
      std::cerr << "chatglmd-sim: cannot read " << glm_api_key_file << "\n";
      return 2;
    }
    glm_api_key = trim(std::string(std::istreambuf_iterator<char>(in), {}));
  }

  try {
    GlmSim glm({glm_api_key, std::chrono::milliseconds(chunk_delay_ms),
                static_cast<std::size_t>(split_bytes), 4});
#ifdef CHATGLMD_SIM_HAS_ALIPAY
    std::unique_ptr<AlipayGatewaySim> alipay;
    if (!alipay_key.empty() && !app_public_key.empty())
      alipay = std::make_unique<AlipayGatewaySim>(
          AlipaySimOptions{alipay_key, app_public_key, seller_id});
    const bool has_alipay = alipay != nullptr;
#else
    const bool has_alipay = false;
#endif
    SimServerOptions server_options;
    server_options.port = static_cast<std::uint16_t>(port);
    server_options.threads = threads;
    server_options.exit_after_idle = std::chrono::seconds(exit_after_idle);
    SimServer server(server_options, [&](const SimRequest& request) -> SimReply {
      const std::string path = request.target.substr(0, request.target.find('?'));
      if (path == "/sim/health") {
        return SimResponse{200, "application/json",
                           boost::json::serialize(boost::json::object{
                               {"status", "ok"}, {"alipay", has_alipay}, {"glm", true}})};
      }
#ifdef CHATGLMD_SIM_HAS_ALIPAY
      if (alipay && alipay->handles(request)) return alipay->handle(request);
#endif
      if (glm.handles(request)) return glm.handle(request);
      return SimResponse{404, "application/json", R"({"error":"no such sim endpoint"})"};
    });
    if (!port_file.empty() && !write_port_file(port_file, server.port())) {
      std::cerr << "chatglmd-sim: cannot write " << port_file << "\n";
      return 2;
    }
    std::cerr << "chatglmd-sim listening on 127.0.0.1:" << server.port()
              << (has_alipay ? " (alipay+glm)" : " (glm)") << std::endl;
    server.run();
    std::cerr << "chatglmd-sim stopped" << std::endl;
  } catch (const std::exception& e) {
    std::cerr << "chatglmd-sim: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
