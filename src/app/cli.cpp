#include "app/cli.hpp"

#include <fmt/format.h>

#include <boost/program_options.hpp>

#include "app/command_table.hpp"

namespace po = boost::program_options;

namespace chatglmd::app {
namespace {

// Command flags: declared once here; each command says which of them it accepts.
const char* const kValueFlags[] = {"limit",  "status", "user",   "id",   "name",
                                   "price",  "quota",  "models", "desc", "sort",
                                   "reason", "since",  "by",     "from", "to"};
const char* const kSwitchFlags[] = {"dry-run", "verbose", "count"};

}  // namespace

void print_usage(std::ostream& out) {
  // From the same tables as the man page (app/command_table.cpp).
  constexpr std::size_t kColumn = 37;
  auto line = [&](std::string_view synopsis, std::string_view summary) {
    out << "  " << synopsis;
    if (synopsis.size() + 2 < kColumn) {
      out << std::string(kColumn - synopsis.size() - 2, ' ');
    } else {
      out << "\n" << std::string(kColumn, ' ');
    }
    out << summary << "\n";
  };
  out << "usage: chatglmd [-c FILE] [--db PATH] [--log-level L] [--json] COMMAND ...\n";
  std::string_view group;
  for (const auto& c : command_table()) {
    if (c.group != group) {
      group = c.group;
      out << "\n" << group << ":\n";
    }
    line(c.synopsis, c.summary);
  }
  out << "\nglobal options:\n";
  for (const auto& o : global_option_table()) line(o.synopsis, o.summary);
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
