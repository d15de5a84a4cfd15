#pragma once
// The commands and global options, listed once: `chatglmd --help` prints them and the man page
// generator (chatglmd-docgen) writes them into chatglmd(8), so neither can miss one.
#include <span>
#include <string_view>

namespace chatglmd::app {

struct CommandHelp {
  std::string_view group;     // heading the command is listed under
  std::string_view synopsis;  // "jobs run NAME [--dry-run] [--limit N]"
  std::string_view summary;   // one line for --help
  std::string_view details;   // more for the man page (may be empty)
};

struct OptionHelp {
  std::string_view synopsis;  // "-c, --config FILE"
  std::string_view summary;
};

std::span<const CommandHelp> command_table();
std::span<const OptionHelp> global_option_table();

}  // namespace chatglmd::app
