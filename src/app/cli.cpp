#include "app/cli.hpp"

#include <fmt/format.h>

#include <boost/program_options.hpp>

namespace po = boost::program_options;

namespace chatglmd::app {
namespace {

// Command flags: declared once here; each command says which of them it accepts.
const char* const kValueFlags[] = {"limit", "status", "user", "id",   "name",  "price",
                                   "quota", "models", "desc", "sort", "reason"};
const char* const kSwitchFlags[] = {"dry-run", "verbose"};

}  // namespace

void print_usage(std::ostream& out) {
  out << R"(usage: chatglmd [-c FILE] [--db PATH] [--log-level L] [--json] COMMAND ...

daemon and maintenance:
  serve                              run the HTTP front, the scheduler and delivery
  migrate                            create or upgrade the database schema
  check-config                       validate the configuration and the secret files
  jobs list                          jobs with schedule, enabled, last and next run
  jobs history [NAME]                recent runs
  jobs run NAME [--dry-run] [--limit N] [--verbose]
                                     one tick (exit 0 done, 1 some orders unclear,
                                     2 usage/config error, 75 lease held elsewhere);
                                     silent on success unless --verbose or --json
orders:
  order show ID | order list [--status S] [--user U] [--limit N]
  order close ID | order reconcile ID
  order refund ID [--reason TEXT] [--dry-run]
                                     full refund (exit 0 refunded, 1 refused or failed
                                     for good, 75 unclear and queued for refund-query)
users and products:
  user add OPENID [--quota N] [--models a,b] | user show OPENID | user grant OPENID N
  user freeze OPENID | user unfreeze OPENID | user token OPENID
  product list | product add --id N --name S --price 9.99 --quota N [--models a,b] [--desc S] [--sort N]
  product enable ID | product disable ID
filter:
  words add WORD... | words import FILE | words list
  whitelist add OPENID | whitelist remove OPENID | whitelist list

global options:
  -c, --config FILE   INI configuration (overridden by CHATGLMD_<SECTION>_<KEY>, then by flags)
  --db PATH           the SQLite database (store.path)
  --log-level L       trace, debug, info, warn, error, critical, off
  --json              machine-readable output
  --help-config       list every configuration key with its default
  -h, --help, --version
)";
}

ParseResult parse_command_line(int argc, const char* const* argv) {
  po::options_description desc;
  desc.add_options()("config,c", po::value<std::string>())("db", po::value<std::string>())(
      "log-level", po::value<std::string>())("json", po::bool_switch())(
      "help,h", po::bool_switch())("version", po::bool_switch())("help-config", po::bool_switch())(
      "words", po::value<std::vector<std::string>>());
  for (const char* f : kValueFlags) desc.add_options()(f, po::value<std::string>());
  for (const char* f : kSwitchFlags) desc.add_options()(f, po::bool_switch());
  po::positional_options_description positional;
  positional.add("words", -1);
  ParseResult result;
  try {
    po::variables_map vm;
    po::store(po::command_line_parser(argc, argv).options(desc).positional(positional).run(), vm);
    Invocation inv;
    if (vm.count("config")) inv.config_file = vm["config"].as<std::string>();
    if (vm.count("db")) inv.db = vm["db"].as<std::string>();
    if (vm.count("log-level")) inv.log_level = vm["log-level"].as<std::string>();
    inv.json = vm["json"].as<bool>();
    inv.help = vm["help"].as<bool>();
    inv.version = vm["version"].as<bool>();
    inv.help_config = vm["help-config"].as<bool>();
    if (vm.count("words")) inv.words = vm["words"].as<std::vector<std::string>>();
    for (const char* f : kValueFlags) {
      if (vm.count(f)) inv.flags[f] = vm[f].as<std::string>();
    }
    for (const char* f : kSwitchFlags) {
      if (vm[f].as<bool>()) inv.flags[f] = "true";
    }
    result.invocation = std::move(inv);
  } catch (const po::error& e) {
    result.error = e.what();
  }
  return result;
}

std::string check_shape(const Invocation& inv, std::size_t min_words, std::size_t max_words,
                        const std::set<std::string>& allowed) {
  for (const auto& [flag, value] : inv.flags) {
    if (!allowed.count(flag)) return fmt::format("--{} does not apply to this command", flag);
  }
  if (inv.words.size() < min_words) return "missing arguments";
  if (inv.words.size() > max_words)
    return fmt::format("unexpected argument '{}'", inv.words[max_words]);
  return {};
}

}  // namespace chatglmd::app
