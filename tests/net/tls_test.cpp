// TLS: certificate verification is on by default (a self-signed server is refused), SNI is sent
// for host names, and verify_tls=false (tests/staging only) talks to the same server.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <thread>

#include "net/http_client.hpp"

namespace chatglmd::net {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using asio::ip::tcp;

// A fresh self-signed certificate for "localhost", made in memory so no key file is committed.
void make_self_signed(asio::ssl::context& ctx) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* san = X509V3_EXT_conf_nid(nullptr, &v3, NID_subject_alt_name, "DNS:localhost");
  X509_add_ext(cert, san, -1);
  X509_EXTENSION_free(san);
  X509_sign(cert, key, EVP_sha256());
  SSL_CTX_use_certificate(ctx.native_handle(), cert);
  SSL_CTX_use_PrivateKey(ctx.native_handle(), key);
  X509_free(cert);
  EVP_PKEY_free(key);
}

class TlsServer {
 public:
  TlsServer() : acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}) {
    make_self_signed(ctx_);
    thread_ = std::thread([this] { serve(); });
  }
  ~TlsServer() {
    stopping_ = true;
    ::shutdown(acceptor_.native_handle(), SHUT_RDWR);
    thread_.join();
  }
  int port() const { return acceptor_.local_endpoint().port(); }
  std::string server_name() {
    std::lock_guard lock(mutex_);
    return server_name_;
  }

 private:
  void serve() {
    while (!stopping_) {
      boost::system::error_code ec;
      tcp::socket socket(io_);
      acceptor_.accept(socket, ec);
      if (ec) continue;
      asio::ssl::stream<tcp::socket> tls(std::move(socket), ctx_);
      tls.handshake(asio::ssl::stream_base::server, ec);
      if (ec) continue;  // the client refused our certificate
      if (const char* sni = SSL_get_servername(tls.native_handle(), TLSEXT_NAMETYPE_host_name)) {
        std::lock_guard lock(mutex_);
        server_name_ = sni;
      }
      boost::beast::flat_buffer buffer;
      http::request<http::string_body> request;
      http::read(tls, buffer, request, ec);
      if (ec) continue;
      http::response<http::string_body> response{http::status::ok, 11};
      response.body() = "secure";
      response.keep_alive(false);
      response.prepare_payload();
      http::write(tls, response, ec);
      tls.shutdown(ec);
    }
  }

  asio::io_context io_;
  asio::ssl::context ctx_{asio::ssl::context::tls_server};
  tcp::acceptor acceptor_;
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  std::string server_name_;
  std::thread thread_;
};

class TlsTest : public ::testing::Test {
 protected:
  TlsTest() : guard_(io_.get_executor()) {
    thread_ = std::thread([this] { io_.run(); });
  }
  ~TlsTest() override {
    guard_.reset();
    io_.stop();
    thread_.join();
  }
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_;
  std::thread thread_;
};

TEST_F(TlsTest, SelfSignedCertificateIsRefusedByDefault) {
  TlsServer server;
  HttpClient client(io_);
  auto result =
      client.fetch({"GET", "https://localhost:" + std::to_string(server.port()) + "/", {}, ""}, {});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error.kind, NetErrorKind::Connect) << result.error.message;
  EXPECT_NE(result.error.message.find("certificate"), std::string::npos) << result.error.message;
}

TEST_F(TlsTest, WithoutVerificationTheSameServerAnswersAndGetsSni) {
  TlsServer server;
  HttpClient client(io_, HttpClient::Options{false, 8 << 20, 16});
  auto result =
      client.fetch({"GET", "https://localhost:" + std::to_string(server.port()) + "/", {}, ""}, {});
  ASSERT_TRUE(result.ok()) << result.error.message;
  EXPECT_EQ(result.response->body, "secure");
  EXPECT_EQ(server.server_name(), "localhost");
}

}  // namespace
}  // namespace chatglmd::net
