#pragma once
// The command line: `chatglmd [-c FILE] [--db PATH] [--log-level L] [--json] COMMAND ...`.
// Global options may stand before or after the command.
#include <map>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <vector>

namespace chatglmd::app {

// Exit codes shared by every command.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;      // unknown target, refused change, some job items unclear
inline constexpr int kExitUsage = 2;       // bad arguments or configuration
inline constexpr int kExitLeaseHeld = 75;  // EX_TEMPFAIL: another process runs this job now

struct Invocation {
  std::optional<std::string> config_file;
  std::optional<std::string> db;
  std::optional<std::string> log_level;
  bool json = false;
  std::vector<std::string> words;            // command, subcommand, positional arguments
  std::map<std::string, std::string> flags;  // command flags given (--limit, --status, ...)
  bool help = false;
  bool version = false;
  bool help_config = false;
};

struct ParseResult {
  std::optional<Invocation> invocation;
  std::string error;
};

ParseResult parse_command_line(int argc, const char* const* argv);
void print_usage(std::ostream& out);

// Checks that only `allowed` flags were given and the word count is within bounds.
std::string check_shape(const Invocation& inv, std::size_t min_words, std::size_t max_words,
                        const std::set<std::string>& allowed);

}  // namespace chatglmd::app
