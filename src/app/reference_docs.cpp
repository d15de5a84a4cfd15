#include "app/reference_docs.hpp"

#include <fmt/format.h>

#include <string_view>

#include "app/command_table.hpp"
#include "app/config.hpp"
#include "app/config_help.hpp"
#include "app/version.hpp"

namespace chatglmd::app {
namespace {

// Values a packaged install sets (active) or suggests (commented), instead of the defaults
// that suit a checkout.
struct InstallValue {
  std::string_view key;
  std::string_view value;
  bool active;
};
constexpr InstallValue kInstallValues[] = {
    {"store.path", "/var/lib/chatglmd/chatglmd.db", true},
    {"auth.token_secret_file", "/etc/chatglmd/token_secret", true},
    {"alipay.private_key_file", "/etc/chatglmd/alipay_app_private_key.pem", false},
    {"alipay.alipay_public_key_file", "/etc/chatglmd/alipay_public_key.pem", false},
    {"chatglm.api_key_file", "/etc/chatglmd/chatglm_api_key", false},
    {"auth.wechat_token_file", "/etc/chatglmd/wechat_token", false},
    {"auth.admin_token_file", "/etc/chatglmd/admin_token", false},
};

const InstallValue* install_value(std::string_view key) {
  for (const auto& v : kInstallValues)
    if (v.key == key) return &v;
  return nullptr;
}

// "jobs.timeout-close.interval" -> {"jobs.timeout-close", "interval"}
std::pair<std::string, std::string> split_key(const std::string& key) {
  auto dot = key.rfind('.');
  return {key.substr(0, dot), key.substr(dot + 1)};
}

std::string shown_default(const std::string& value) {
  return value.empty() ? "(none)" : value;
}

}  // namespace

std::string roff_escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\\')
      out += "\\e";
    else if (c == '-')
      out += "\\-";
    else
      out += c;
  }
  if (!out.empty() && (out[0] == '.' || out[0] == '\'')) out.insert(0, "\\&");
  return out;
}

std::string render_man_page(const std::map<std::string, jobs::JobSettings>& job_defaults) {
  std::string m;
  auto add = [&](std::string_view line) {
    m += line;
    m += '\n';
  };
  auto text = [&](std::string_view line) { add(roff_escape(line)); };
  add(fmt::format(".TH CHATGLMD 8 \"\" \"chatglmd {}\" \"System Administration\"", version()));
  add(".SH NAME");
  add("chatglmd \\- paid ChatGLM chat service: daemon, jobs and admin commands");
  add(".SH SYNOPSIS");
  add(".B chatglmd");
  text("[-c FILE] [--db PATH] [--log-level L] [--json] COMMAND ...");
  add(".SH DESCRIPTION");
  text(
      "chatglmd sells chat quota through Alipay and spends it on ChatGLM answers streamed to the "
      "browser. One binary holds the daemon (serve: HTTP front, job scheduler, delivery), the "
      "jobs that repair what the outside world breaks (jobs run, for cron or systemd timers) and "
      "the admin commands. The orders live in one SQLite file with a strict state machine.");
  add(".PP");
  text(
      "Global options may stand before or after the command. Tables for people, --json for "
      "scripts.");

  add(".SH COMMANDS");
  std::string_view group;
  for (const auto& c : command_table()) {
    if (c.group != group) {
      group = c.group;
      add(".SS " + roff_escape(group));
    }
    add(".TP");
    add("\\fB" + roff_escape(c.synopsis) + "\\fR");
    std::string body(c.summary);
    if (!c.details.empty()) body += ". " + std::string(c.details);
    text(body);
  }

  add(".SH OPTIONS");
  for (const auto& o : global_option_table()) {
    add(".TP");
    add("\\fB" + roff_escape(o.synopsis) + "\\fR");
    text(o.summary);
  }

  add(".SH CONFIGURATION");
  text(
      "An INI file (-c FILE), overridden by environment variables CHATGLMD_<SECTION>_<KEY> (upper "
      "case, every character that is not a letter or digit becomes _), overridden by flags. "
      "Unknown keys are errors. Durations take ms, s, m, h, d (30m, 10s). Secrets are files, "
      "never values in the INI file, and are never logged. chatglmd --help-config prints the same "
      "list.");
  std::string section;
  for (const auto& [key, def] : describe_keys(job_defaults)) {
    auto [sec, name] = split_key(key);
    if (sec != section) {
      section = sec;
      add(".SS [" + roff_escape(section) + "]");
    }
    add(".TP");
    add("\\fB" + roff_escape(name) + "\\fR = " + roff_escape(shown_default(def)));
    text(fmt::format("{} ({}).", key_meaning(key), env_name_for(key)));
  }

  add(".SH EXIT STATUS");
  const std::pair<const char*, const char*> codes[] = {
      {"0", "success"},
      {"1",
       "unknown target, refused change, a failed backup, or (jobs run) some order left unclear"},
      {"2", "bad arguments or configuration, with a usage message"},
      {"75", "(jobs run) the job's lease is held by another runner; skipped"}};
  for (const auto& [code, meaning] : codes) {
    add(".TP");
    add(std::string("\\fB") + code + "\\fR");
    text(meaning);
  }

  add(".SH SIGNALS");
  add(".TP");
  add("\\fBSIGTERM\\fR");
  text("serve drains open requests and ticks, then exits; a second SIGTERM exits at once.");
  add(".TP");
  add("\\fBSIGHUP\\fR");
  text(
      "serve reloads the configuration, the sensitive words and the whitelist; a bad "
      "configuration is refused and the running one kept.");

  add(".SH FILES");
  const std::pair<const char*, const char*> files[] = {
      {"/etc/chatglmd/chatglmd.ini", "the configuration"},
      {"/etc/chatglmd/token_secret",
       "the user token key (and the other secret files the configuration names)"},
      {"/var/lib/chatglmd/chatglmd.db", "the order store (with its \\-wal and \\-shm files)"},
      {"/lib/systemd/system/chatglmd.service", "the service; per-job timers beside it"},
      {"/etc/cron.d/chatglmd", "the jobs as cron lines, commented out"},
      {"/usr/share/doc/chatglmd/README.md", "the operator's manual"}};
  for (const auto& [path, what] : files) {
    add(".TP");
    add("\\fI" + roff_escape(path) + "\\fR");
    add(what);
  }
  add(".SH SEE ALSO");
  add("\\fBsystemctl\\fR(1), \\fBjournalctl\\fR(1), \\fBsqlite3\\fR(1)");
  return m;
}

std::string render_sample_ini(const std::map<std::string, jobs::JobSettings>& job_defaults) {
  std::string out =
      "# chatglmd configuration (/etc/chatglmd/chatglmd.ini); see chatglmd(8).\n"
      "# Generated by chatglmd-docgen from chatglmd's own key table: every key is listed with\n"
      "# its default. A commented \"#key = value\" line changes nothing; remove the \"#\" to set "
      "it.\n"
      "# CHATGLMD_<SECTION>_<KEY> environment variables override this file, flags override both.\n"
      "# Durations take ms, s, m, h, d (30m, 10s). Unknown keys are errors.\n"
      "#\n"
      "# Secrets are files beside this one (owner root, group chatglmd, mode 0640), never values\n"
      "# here, and are never logged. serve needs at least the token secret:\n"
      "#   head -c 32 /dev/urandom | base64 > /etc/chatglmd/token_secret\n"
      "#   chown root:chatglmd /etc/chatglmd/token_secret && chmod 0640 "
      "/etc/chatglmd/token_secret\n"
      "# Selling needs alipay.app_id and both key files, chat needs chatglm.api_key_file.\n"
      "# Check as the service user: runuser -u chatglmd -- chatglmd -c "
      "/etc/chatglmd/chatglmd.ini check-config\n";
  std::string section;
  for (const auto& [key, def] : describe_keys(job_defaults)) {
    auto [sec, name] = split_key(key);
    if (sec != section) {
      section = sec;
      out += fmt::format("\n[{}]\n", section);
    }
    out += fmt::format("# {}\n# default: {}; environment: {}\n", key_meaning(key),
                       shown_default(def), env_name_for(key));
    if (const auto* v = install_value(key)) {
      out += fmt::format("{}{} = {}\n", v->active ? "" : "#", name, v->value);
    } else {
      out += def.empty() ? fmt::format("#{} =\n", name) : fmt::format("#{} = {}\n", name, def);
    }
  }
  return out;
}

}  // namespace chatglmd::app
