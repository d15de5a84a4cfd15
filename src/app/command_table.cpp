#include "app/command_table.hpp"

namespace chatglmd::app {
namespace {

constexpr std::string_view kDaemon = "daemon and maintenance";
constexpr std::string_view kOrders = "orders";
constexpr std::string_view kUsers = "users and products";
constexpr std::string_view kFilter = "filter";

constexpr CommandHelp kCommands[] = {
    {kDaemon, "serve", "run the HTTP front, the scheduler and delivery",
     "SIGTERM drains and exits (a second SIGTERM forces it); SIGHUP reloads the configuration, "
     "the sensitive words and the whitelist. Applies pending migrations at start."},
    {kDaemon, "migrate", "create or upgrade the database schema",
     "A database written by a newer chatglmd is refused."},
    {kDaemon, "check-config", "validate the configuration and the secret files", ""},
    {kDaemon, "backup FILE", "online consistent copy of the SQLite store, checked",
     "Copies the store while serve runs (SQLite's backup API), then runs PRAGMA integrity_check "
     "on the copy. An existing FILE is never overwritten (exit 1). On PostgreSQL (store.url) use "
     "pg_dump instead (exit 2)."},
    {kDaemon, "store copy --from sqlite:PATH --to postgresql://...",
     "copy a deployment from SQLite to an empty PostgreSQL database, checked",
     "Every table with its ids (not the job leases), in one PostgreSQL transaction that commits "
     "only when row counts, quota sums and paid amounts agree on both sides; says how long it "
     "took. A target holding data is refused (exit 1). Stop serve first, or the copy is the "
     "snapshot it read."},
    {kDaemon, "jobs list", "jobs with schedule, enabled, last and next run", ""},
    {kDaemon, "jobs history [NAME] [--limit N]", "recent runs", ""},
    {kDaemon, "jobs run NAME [--dry-run] [--limit N] [--verbose]",
     "one tick (exit 0 done, 1 orders unclear, 2 usage, 75 lease held elsewhere)",
     "Works whether or not the job is enabled for the built-in scheduler. --dry-run may query "
     "the gateway but changes nothing there or here. Silent on success unless --verbose or "
     "--json, so cron mails only errors."},
    {kDaemon, "usage [--since DATE] [--by day|model|user]", "chat usage from the usage log",
     "Chats (refused ones included), answered chats and tokens since DATE (a Beijing day "
     "YYYY-MM-DD, or a duration such as 7d; default: the last 30 days), per Beijing day, model "
     "or user (most chats first)."},
    {kOrders, "order show ID", "one order with its audit log", ""},
    {kOrders, "order list [--status S] [--user U] [--limit N]", "orders, newest first",
     "--status takes created, paid, delivered, closed or 0-3."},
    {kOrders, "order close ID", "close a CREATED order: at Alipay first, then here",
     "A trade found paid is delivered instead."},
    {kOrders, "order reconcile ID", "ask Alipay about a CREATED or CLOSED order and act on it", ""},
    {kOrders, "order refund ID [--reason TEXT] [--dry-run]",
     "full refund (exit 0 refunded, 1 refused or failed for good, 75 unclear and queued)",
     "The order's unspent quota is taken back first; an unclear answer is finished by the "
     "refund-query job."},
    {kUsers, "user add OPENID [--quota N] [--models a,b]", "create an account", ""},
    {kUsers, "user show OPENID", "an account with its quota and its chats of the last 30 days", ""},
    {kUsers, "user grant OPENID N", "add N chats", ""},
    {kUsers, "user freeze OPENID", "refuse the user's requests from the next one on", ""},
    {kUsers, "user unfreeze OPENID", "undo a freeze", ""},
    {kUsers, "user token OPENID", "print only a user token (for operators and scripts)", ""},
    {kUsers, "product list", "the catalogue", ""},
    {kUsers,
     "product add --id N --name S --price 9.99 --quota N [--models a,b] [--desc S] [--sort N]",
     "add a product (enabled)", ""},
    {kUsers, "product enable ID", "offer a product", ""},
    {kUsers, "product disable ID", "stop offering a product", ""},
    {kFilter, "words add WORD...", "add sensitive words (a running daemon reloads within 2 s)", ""},
    {kFilter, "words import FILE", "add the words of a file (one a line, # comments)", ""},
    {kFilter, "words list", "the sensitive words", ""},
    {kFilter, "words scan [FILE|-] [--count] [--user OPENID]",
     "mask a text line by line as the chat would, or count the hits",
     "Reads FILE, or standard input when FILE is - or absent, and prints each line with every "
     "character covered by a sensitive word replaced by *, using the words in the store. "
     "--count prints lines, lines with hits, hits and masked characters instead (--json for "
     "scripts). --user OPENID masks nothing when that user is whitelisted, as the chat does. "
     "A file that cannot be read exits 1."},
    {kFilter, "whitelist add OPENID", "exempt a user from rate limit and word filter", ""},
    {kFilter, "whitelist remove OPENID", "end an exemption", ""},
    {kFilter, "whitelist list", "exempt users", ""},
};

constexpr OptionHelp kGlobalOptions[] = {
    {"-c, --config FILE",
     "INI configuration (overridden by CHATGLMD_<SECTION>_<KEY>, then by flags)"},
    {"--db PATH", "the SQLite database (store.path), or a postgresql:// URL (store.url)"},
    {"--log-level L", "trace, debug, info, warn, error, critical, off"},
    {"--json", "machine-readable output"},
    {"--help-config", "list every configuration key with its default"},
    {"-h, --help", "this list"},
    {"--version", "version and build"},
};

}  // namespace

std::span<const CommandHelp> command_table() {
  return kCommands;
}
std::span<const OptionHelp> global_option_table() {
  return kGlobalOptions;
}

}  // namespace chatglmd::app
