// words scan [FILE|-] [--count] [--user OPENID]: the chat's masking applied to a text, line by
// line, for operators checking texts against the current words and whitelist, and as the
// entry point of the filter benchmark (so it streams: memory stays one read block and one line).
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "app/context.hpp"
#include "app/output.hpp"
#include "filter/word_filter.hpp"

namespace chatglmd::app {
namespace {

constexpr std::size_t kReadBlock = 1 << 20;
constexpr std::size_t kWriteBlock = 1 << 20;

struct FileCloser {
  void operator()(std::FILE* f) const {
    if (f != stdin) std::fclose(f);
  }
};
using File = std::unique_ptr<std::FILE, FileCloser>;

struct Totals {
  std::int64_t lines = 0;
  std::int64_t lines_with_hits = 0;
  std::int64_t hits = 0;
  std::int64_t masked = 0;
  std::int64_t bytes = 0;
};

// Whether `openid` skips the word check in chat: the store's whitelist or auth.whitelist.
bool whitelisted(CommandContext& ctx, store::Store& s, const std::string& openid) {
  for (const auto& id : ctx.config.auth.whitelist)
    if (id == openid) return true;
  for (const auto& id : s.whitelist().list())
    if (id == openid) return true;
  return false;
}

}  // namespace

int run_words_scan(CommandContext& ctx, store::Store& s) {
  if (auto e = check_shape(ctx.inv, 2, 3, {"count", "user"}); !e.empty())
    return usage_error(ctx, e);
  const std::string path = ctx.inv.words.size() > 2 ? ctx.inv.words[2] : "-";
  const bool count_only = ctx.inv.flags.count("count") != 0;
  if (ctx.inv.json && !count_only)
    return usage_error(ctx, "--json goes with --count (the masked text is printed as it is)");

  std::shared_ptr<const filter::WordFilter> words = filter::WordFilter::build(s.words().list());
  if (ctx.inv.flags.count("user") && whitelisted(ctx, s, ctx.inv.flags.at("user"))) {
    // The chat lets this user's messages through unmasked; the scan shows the same.
    words = filter::WordFilter::build({});
    ctx.err << "chatglmd: " << ctx.inv.flags.at("user")
            << " is whitelisted: the chat masks nothing of theirs\n";
  }

  File in(path == "-" ? stdin : std::fopen(path.c_str(), "rb"));
  if (!in) {
    ctx.err << "chatglmd: cannot read " << path << ": " << std::strerror(errno) << "\n";
    return kExitFailed;
  }

  Totals totals;
  std::string pending;  // bytes read but not yet scanned: the current line's start
  std::string out;
  out.reserve(kWriteBlock + kReadBlock);
  std::unique_ptr<char[]> block(new char[kReadBlock]);
  auto scan_line = [&](std::string_view line, bool newline) {
    ++totals.lines;
    const filter::ScanCounts found = count_only ? words->count(line) : words->mask_into(line, out);
    if (!count_only && newline) out.push_back('\n');
    totals.hits += static_cast<std::int64_t>(found.hits);
    totals.masked += static_cast<std::int64_t>(found.masked);
    totals.lines_with_hits += found.hits != 0;
    if (out.size() >= kWriteBlock) {
      ctx.out.write(out.data(), static_cast<std::streamsize>(out.size()));
      out.clear();
    }
  };
  for (;;) {
    const std::size_t got = std::fread(block.get(), 1, kReadBlock, in.get());
    if (got == 0) {
      if (std::ferror(in.get())) {
        ctx.err << "chatglmd: cannot read " << path << ": " << std::strerror(errno) << "\n";
        return kExitFailed;
      }
      break;
    }
    totals.bytes += static_cast<std::int64_t>(got);
    std::string_view chunk(block.get(), got);
    // Lines are scanned straight from the read block; only a line cut by the block's end is
    // copied, so most of the text is never copied before the filter sees it.
    std::size_t start = 0;
    if (!pending.empty()) {
      const std::size_t nl = chunk.find('\n');
      if (nl == std::string_view::npos) {
        pending.append(chunk);
        continue;
      }
      pending.append(chunk.substr(0, nl));
      scan_line(pending, true);
      pending.clear();
      start = nl + 1;
    }
    for (;;) {
      const std::size_t nl = chunk.find('\n', start);
      if (nl == std::string_view::npos) break;
      scan_line(chunk.substr(start, nl - start), true);
      start = nl + 1;
    }
    pending.append(chunk.substr(start));
  }
  if (!pending.empty()) scan_line(pending, false);  // a last line without a newline keeps none
  if (!count_only) {
    ctx.out.write(out.data(), static_cast<std::streamsize>(out.size()));
    ctx.out.flush();
    return kExitOk;
  }
  print_record(ctx.out,
               {{"lines", totals.lines},
                {"linesWithHits", totals.lines_with_hits},
                {"hits", totals.hits},
                {"maskedChars", totals.masked},
                {"bytes", totals.bytes},
                {"words", static_cast<std::int64_t>(words->size())}},
               ctx.inv.json);
  return kExitOk;
}

}  // namespace chatglmd::app
