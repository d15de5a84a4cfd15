#pragma once
// The operator's reference generated from the program's own tables (commands, global options,
// configuration keys with defaults and meanings): the chatglmd(8) man page and the sample
// chatglmd.ini that the Debian package installs as /etc/chatglmd/chatglmd.ini.
// chatglmd-docgen writes both at build time; tests check that nothing is missing.
#include <map>
#include <string>
#include <string_view>

#include "jobs/job.hpp"

namespace chatglmd::app {

// roff source of chatglmd(8).
std::string render_man_page(const std::map<std::string, jobs::JobSettings>& job_defaults);

// The commented sample configuration: every key with its default, meaning and environment
// name; the state file and the token secret set for a packaged install (/var/lib/chatglmd,
// /etc/chatglmd), the other secret file names suggested in comments.
std::string render_sample_ini(const std::map<std::string, jobs::JobSettings>& job_defaults);

// Escapes text for roff: backslashes, hyphens (so they are not turned into dashes) and a
// leading dot or quote (which roff would read as a request).
std::string roff_escape(std::string_view text);

}  // namespace chatglmd::app
