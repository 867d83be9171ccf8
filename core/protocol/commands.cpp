// SPDX-License-Identifier: ISC
#include "core/protocol/commands.hpp"

#include "core/util/strings.hpp"

#include <algorithm>
#include <array>
#include <cassert>

namespace core::protocol {

namespace {

constexpr std::array<std::string_view, 3> k_schemes{"yescrypt", "bcrypt", "sha512"};

constexpr std::array<ArgSpec, 1> k_args_subsystem{{
    {"subsystem", ArgType::subsystem, Arity::required, "trace subsystem, or all"},
}};

// trace: one subsystem or more; --follow streams them here instead (the hidden trace.follow).
constexpr std::array<ArgSpec, 5> k_args_trace{{
    {"subsystem", ArgType::subsystem, Arity::required, "trace subsystem, or all"},
    {"more", ArgType::subsystem, Arity::many, "more subsystems", {}, '\0', "subsystem"},
    {"--follow", ArgType::flag, Arity::optional, "stream them here until interrupted; log untouched"},
    {"--msgid", ArgType::queue_id, Arity::optional, "with --follow: only this message or envelope", {},
     '\0', "ID"},
    {"--session", ArgType::string, Arity::optional, "with --follow: only this SMTP session", {}, '\0',
     "ID"},
}};

// trace.follow, what `mxctl trace --follow` sends.
constexpr std::array<ArgSpec, 4> k_args_trace_follow{{
    k_args_trace[0],
    k_args_trace[1],
    k_args_trace[3],
    k_args_trace[4],
}};

constexpr std::array<std::string_view, 3> k_stats_formats{"text", "json", "prometheus"};

constexpr std::array<ArgSpec, 1> k_args_show_stats{{
    {"--format", ArgType::choice, Arity::optional, "text (default), json (as -j) or prometheus",
     k_stats_formats, '\0', "FORMAT"},
}};

constexpr std::array<ArgSpec, 2> k_args_encrypt{{
    {"string", ArgType::string, Arity::optional,
     "password to hash (default: one per line from stdin)"},
    {"--scheme", ArgType::choice, Arity::optional, "hash scheme (default yescrypt)", k_schemes},
}};

constexpr std::array<ArgSpec, 4> k_args_check_config{{
    {"file", ArgType::string, Arity::optional, "configuration file (default: mxd's)"},
    {"--skip-files", ArgType::flag, Arity::optional,
     "do not open the files it names (certificates, tables)"},
    {"--strict", ArgType::flag, Arity::optional, "fail on warnings too"},
    {"--define", ArgType::string, Arity::many, "define a macro, as mxd -D", {}, 'D', "NAME=VALUE"},
}};

constexpr std::array<ArgSpec, 2> k_args_config_migrate{{
    {"file", ArgType::string, Arity::required, "configuration file"},
    {"--define", ArgType::string, Arity::many, "define a macro, as mxd -D", {}, 'D', "NAME=VALUE"},
}};

constexpr std::array<std::string_view, 11> k_lookup_services{
    "alias",    "domain",      "credentials", "netaddr", "userinfo", "source",
    "mailaddr", "addrname", "mailaddrmap", "relayhost", "virtual"};

constexpr std::array<ArgSpec, 3> k_args_table_lookup{{
    {"table", ArgType::table, Arity::required, "table name"},
    {"key", ArgType::string, Arity::required, "key to look up"},
    {"--service", ArgType::choice, Arity::optional,
     "match as this table(5) service does (default: exact)", k_lookup_services, '\0',
     "SERVICE"},
}};

constexpr std::array<ArgSpec, 1> k_args_table{{
    {"table", ArgType::table, Arity::required, "table name"},
}};

constexpr std::array<std::string_view, 2> k_makemap_types{"aliases", "set"};

constexpr std::array<ArgSpec, 4> k_args_makemap{{
    {"file", ArgType::string, Arity::required, "table text file, or - for stdin"},
    {"--dump", ArgType::flag, Arity::optional, "print a db back as text", {}, 'U'},
    {"--output", ArgType::string, Arity::optional, "db to write (default: FILE.db)", {}, 'o', "OUT"},
    {"--type", ArgType::choice, Arity::optional, "aliases: check targets; set: keys only", k_makemap_types,
     't'},
}};

constexpr std::array<std::string_view, 3> k_pause_targets{"mda", "mta", "smtp"};

constexpr std::array<ArgSpec, 3> k_args_pause{{
    {"what", ArgType::choice, Arity::required, "mda (local), mta (relay) or smtp (new sessions)",
     k_pause_targets},
    {"--reason", ArgType::string, Arity::optional, "why, for show status", {}, '\0', "TEXT"},
    {"--for", ArgType::duration, Arity::optional, "resume by itself after this long (30m, 2h)", {},
     '\0', "DURATION"},
}};

constexpr std::array<ArgSpec, 1> k_args_resume{{k_args_pause[0]}};

// The selection of every queue command (core/queue/filter.hpp): an id, all, and filters.
constexpr std::array<std::string_view, 3> k_queue_states{"pending", "inflight", "held"};
constexpr ArgSpec k_arg_queue_id{"id", ArgType::queue_id, Arity::optional,
                                 "an envelope id, a message id, or all"};
constexpr ArgSpec k_arg_sender{"--sender", ArgType::string, Arity::optional,
                               "from this sender (* and ? match; <> is the null sender)",
                               {}, '\0', "ADDRESS"};
constexpr ArgSpec k_arg_rcpt{"--rcpt", ArgType::string, Arity::optional,
                             "to this recipient, as given or expanded (patterns)", {}, '\0',
                             "ADDRESS"};
constexpr ArgSpec k_arg_domain{"--domain", ArgType::string, Arity::optional,
                               "to a recipient in this domain (patterns)", {}, '\0', "DOMAIN"};
constexpr ArgSpec k_arg_older_than{"--older-than", ArgType::duration, Arity::optional,
                                   "queued at least this long ago (30m, 2h, 1d)", {}, '\0',
                                   "DURATION"};
constexpr ArgSpec k_arg_state{"--state", ArgType::choice, Arity::optional,
                              "in this scheduler state", k_queue_states};

constexpr std::array<ArgSpec, 6> k_args_show_queue{{
    k_arg_queue_id, k_arg_sender, k_arg_rcpt, k_arg_domain, k_arg_older_than, k_arg_state,
}};

constexpr std::array<ArgSpec, 7> k_args_queue_op{{
    k_arg_queue_id, k_arg_sender, k_arg_rcpt, k_arg_domain, k_arg_older_than, k_arg_state,
    {"--dry-run", ArgType::flag, Arity::optional, "list what it would touch, change nothing"},
}};

constexpr std::array<ArgSpec, 1> k_args_show_envelope{{
    {"id", ArgType::queue_id, Arity::required, "an envelope id (show queue lists them)"},
}};

constexpr std::array<ArgSpec, 1> k_args_show_message{{
    {"id", ArgType::queue_id, Arity::required, "a message id, or the id of one of its envelopes"},
}};

constexpr std::array<ArgSpec, 1> k_args_newaliases{{
    {"--config", ArgType::string, Arity::optional, "configuration file (default: mxd's)", {}, 'f', "FILE"},
}};

constexpr std::array<ArgSpec, 1> k_args_sendmail{{
    {"argument", ArgType::string, Arity::many, "sendmail(8) options and recipients (sendmail --help)"},
}};

constexpr std::array<ArgSpec, 6> k_args_submit{{
    {"recipient", ArgType::string, Arity::many, "recipient addresses (user alone means user@host)"},
    {"--sender", ArgType::string, Arity::optional, "envelope sender; \"\" is <> (default: yours)", {}, '\0',
     "ADDRESS"},
    {"--full-name", ArgType::string, Arity::optional, "display name for an added From:", {}, '\0', "NAME"},
    {"--data", ArgType::string, Arity::optional, "the next part of the message, in base64", {}, '\0',
     "BASE64"},
    {"--more", ArgType::flag, Arity::optional, "more parts follow: keep this one and wait"},
    {"--dry-run", ArgType::flag, Arity::optional, "route the recipients, queue nothing"},
}};

// What mxctl __complete asks the daemon for: the values that only the running daemon knows.
constexpr std::array<std::string_view, 2> k_complete_kinds{"queue_id", "table"};

constexpr std::array<ArgSpec, 2> k_args_complete{{
    {"kind", ArgType::choice, Arity::required, "queue_id: msgids and evpids; table: table names",
     k_complete_kinds},
    {"prefix", ArgType::string, Arity::optional, "what was typed so far (default: nothing)"},
}};

constexpr std::array<ArgSpec, 4> k_args_expand{{
    {"address", ArgType::string, Arity::required, "recipient address to route"},
    {"--from", ArgType::string, Arity::optional, "envelope sender (default: <>)", {}, '\0', "SENDER"},
    {"--src", ArgType::string, Arity::optional, "as an SMTP client at this address (default: local)", {}, '\0',
     "IP"},
    {"--auth", ArgType::string, Arity::optional, "as this authenticated user", {}, '\0', "USER"},
}};

// { id, words, args, access, reply, runs, summary[, visibility] }
constexpr std::array<Command, 34> k_commands{{
    {CommandId::show_status, "show status", {}, Access::anyone, Reply::single, Runs::daemon,
     "Show the daemon's version, paths, listeners, pauses and traces"},
    {CommandId::show_stats, "show stats", k_args_show_stats, Access::read, Reply::single, Runs::daemon,
     "Print the counters (key=value, JSON or Prometheus)"},
    {CommandId::monitor, "monitor", {}, Access::read, Reply::stream, Runs::daemon,
     "Print counters every second, as smtpctl monitor"},
    {CommandId::show_queue, "show queue", k_args_show_queue, Access::read, Reply::stream, Runs::daemon,
     "List the queued envelopes, one line each"},
    {CommandId::show_envelope, "show envelope", k_args_show_envelope, Access::read, Reply::single,
     Runs::daemon, "Print every field of a queued envelope"},
    {CommandId::show_message, "show message", k_args_show_message, Access::read, Reply::stream,
     Runs::daemon, "Print a queued message as it was received"},
    {CommandId::mailq, "mailq", {}, Access::anyone, Reply::stream, Runs::daemon,
     "List the queued messages by message, as mailq does"},
    {CommandId::log_verbose, "log verbose", {}, Access::admin, Reply::single, Runs::daemon,
     "Log at debug level"},
    {CommandId::log_brief, "log brief", {}, Access::admin, Reply::single, Runs::daemon,
     "Log at info level (traces stay as they are)"},
    {CommandId::trace, "trace", k_args_trace, Access::admin, Reply::single, Runs::daemon,
     "Log a subsystem's traces, or --follow them here"},
    {CommandId::trace_follow, "trace follow", k_args_trace_follow, Access::admin, Reply::stream,
     Runs::daemon, "Stream trace lines until the client closes: the request of trace --follow",
     Visibility::hidden},
    {CommandId::untrace, "untrace", k_args_subsystem, Access::admin, Reply::single, Runs::daemon,
     "Stop logging a subsystem's trace lines"},
    {CommandId::reload, "reload", {}, Access::admin, Reply::single, Runs::daemon,
     "Re-read the configuration; on error keep the running one"},
    {CommandId::stop, "stop", {}, Access::admin, Reply::single, Runs::daemon,
     "Stop the daemon"},
    {CommandId::pause, "pause", k_args_pause, Access::admin, Reply::single, Runs::daemon,
     "Hold local deliveries, relaying or new SMTP sessions"},
    {CommandId::pause_envelope, "pause envelope", k_args_queue_op, Access::admin, Reply::single,
     Runs::daemon, "Hold envelopes: they are not tried until resumed", Visibility::listed,
     Scope::required},
    {CommandId::resume, "resume", k_args_resume, Access::admin, Reply::single, Runs::daemon,
     "Release what pause held"},
    {CommandId::resume_envelope, "resume envelope", k_args_queue_op, Access::admin, Reply::single,
     Runs::daemon, "Release held envelopes", Visibility::listed, Scope::required},
    {CommandId::schedule, "schedule", k_args_queue_op, Access::admin, Reply::single, Runs::daemon,
     "Try envelopes now instead of at their next retry", Visibility::listed, Scope::required},
    {CommandId::remove, "remove", k_args_queue_op, Access::admin, Reply::single, Runs::daemon,
     "Remove envelopes from the queue, without a bounce", Visibility::listed, Scope::required},
    {CommandId::expand, "expand", k_args_expand, Access::admin, Reply::single, Runs::daemon,
     "Show how a recipient is routed and expanded"},
    {CommandId::encrypt, "encrypt", k_args_encrypt, Access::anyone, Reply::single, Runs::client,
     "Hash passwords for a credentials table"},
    {CommandId::check_config, "check-config", k_args_check_config, Access::anyone, Reply::single,
     Runs::client, "Check a configuration file, as mxd -n, with no daemon"},
    {CommandId::config_migrate, "config migrate", k_args_config_migrate, Access::anyone,
     Reply::single, Runs::client, "Print a configuration in the modern grammar"},
    {CommandId::show_relays, "show relays", {}, Access::read, Reply::stream, Runs::daemon,
     "List the relay client's routes: connections, messages, last error"},
    {CommandId::show_routes, "show routes", {}, Access::read, Reply::stream, Runs::daemon,
     "List the relay client's source and destination addresses and their state"},
    {CommandId::show_tables, "show tables", {}, Access::read, Reply::stream, Runs::daemon,
     "List the tables: backend, source, services, entries, load time"},
    {CommandId::table_lookup, "table lookup", k_args_table_lookup, Access::admin, Reply::single,
     Runs::daemon, "Look a key up in a table of the running daemon"},
    {CommandId::update_table, "update table", k_args_table, Access::admin, Reply::single,
     Runs::daemon, "Reload a table from its source"},
    {CommandId::makemap, "makemap", k_args_makemap, Access::anyone, Reply::single, Runs::client,
     "Build a db table from a text file"},
    {CommandId::newaliases, "newaliases", k_args_newaliases, Access::anyone, Reply::single,
     Runs::client, "Rebuild the aliases table and tell the daemon"},
    {CommandId::sendmail, "sendmail", k_args_sendmail, Access::anyone, Reply::single, Runs::client,
     "Queue a message from stdin, as sendmail(8) does"},
    {CommandId::submit, "submit", k_args_submit, Access::anyone, Reply::single, Runs::daemon,
     "Queue a message: the request of sendmail, which is the way to use it", Visibility::hidden},
    // Queue ids and table names are what show queue and show tables list: read access.
    {CommandId::complete, "__complete", k_args_complete, Access::read, Reply::single, Runs::daemon,
     "Values that start with a prefix: the request of shell completion (mxctl __complete)",
     Visibility::hidden},
}};

std::vector<std::string> words_of(const Command& c) {
    std::vector<std::string> out;
    for (auto w : split(c.words, ' ')) {
        out.emplace_back(w);
    }
    return out;
}

bool has_prefix(const std::vector<std::string>& words, const std::vector<std::string>& prefix) {
    return words.size() >= prefix.size() && std::equal(prefix.begin(), prefix.end(), words.begin());
}

// True when `word` is, or is an unambiguous prefix of, the next word of a listed command that
// extends `path`.
bool extends_listed(const std::vector<std::string>& path, const std::string& word) {
    std::vector<std::string> matches;
    for (const auto& c : k_commands) {
        const auto words = words_of(c);
        if (c.visibility != Visibility::listed || words.size() <= path.size() || !has_prefix(words, path)) {
            continue;
        }
        const auto& next = words[path.size()];
        if (next == word) {
            return true;
        }
        if (next.starts_with(word) && std::find(matches.begin(), matches.end(), next) == matches.end()) {
            matches.push_back(next);
        }
    }
    return matches.size() == 1;
}

} // namespace

std::span<const Command> commands() { return k_commands; }

const Command& command(CommandId id) {
    for (const auto& c : k_commands) {
        if (c.id == id) {
            return c;
        }
    }
    assert(false && "every CommandId has a row");
    return k_commands[0];
}

const Command* find_by_wire_name(std::string_view name) {
    for (const auto& c : k_commands) {
        if (wire_name(c) == name) {
            return &c;
        }
    }
    return nullptr;
}

std::string wire_name(const Command& c) {
    std::string name(c.words);
    std::replace(name.begin(), name.end(), ' ', '.');
    return name;
}

std::string wire_key(const ArgSpec& arg) {
    std::string key(arg.name);
    key.erase(0, key.find_first_not_of('-'));
    std::replace(key.begin(), key.end(), '-', '_');
    return key;
}

std::string_view access_name(Access access) {
    switch (access) {
    case Access::anyone:
        return "anyone";
    case Access::read:
        return "read";
    case Access::admin:
        return "admin";
    }
    return "admin";
}

std::vector<std::string> next_words(const std::vector<std::string>& prefix) {
    std::vector<std::string> out;
    for (const auto& c : k_commands) {
        const auto words = words_of(c);
        if (words.size() > prefix.size() && has_prefix(words, prefix)) {
            const auto& next = words[prefix.size()];
            if (std::find(out.begin(), out.end(), next) == out.end()) {
                out.push_back(next);
            }
        }
    }
    return out;
}

Result<Resolved> resolve(const std::vector<std::string>& argv) {
    std::vector<std::string> path;
    for (std::size_t i = 0; i < argv.size(); ++i) {
        // A complete command ends the walk: what follows is its arguments. Unless the next word
        // names a longer listed command: `pause envelope all` is not `pause` of "envelope".
        for (const auto& c : k_commands) {
            if (words_of(c) == path && !extends_listed(path, argv[i])) {
                return Resolved{&c, i, path};
            }
        }
        const auto candidates = next_words(path);
        std::vector<std::string> matches;
        for (const auto& word : candidates) {
            if (word == argv[i]) {
                matches = {word};
                break;
            }
            if (word.starts_with(argv[i])) {
                matches.push_back(word);
            }
        }
        auto possibilities = [&] {
            std::vector<std::string> full;
            for (const auto& word : candidates) {
                auto p = path;
                p.push_back(word);
                full.push_back(join(p, " "));
            }
            return join(full, ", ");
        }();
        std::string so_far = join(path, " ");
        if (!so_far.empty()) {
            so_far += ' ';
        }
        if (matches.empty()) {
            return fail(Errc::invalid_argument, "unknown command '" + so_far + argv[i] +
                                                    "'; possibilities are: " + possibilities);
        }
        if (matches.size() > 1) {
            return fail(Errc::invalid_argument, "ambiguous command '" + so_far + argv[i] +
                                                    "'; possibilities are: " + possibilities);
        }
        path.push_back(matches.front());
    }
    for (const auto& c : k_commands) {
        if (words_of(c) == path) {
            return Resolved{&c, argv.size(), path};
        }
    }
    std::vector<std::string> full;
    for (const auto& word : next_words(path)) {
        auto p = path;
        p.push_back(word);
        full.push_back(join(p, " "));
    }
    return fail(Errc::invalid_argument,
                (path.empty() ? std::string("missing command") : "incomplete command '" + join(path, " ") + "'") +
                    "; possibilities are: " + join(full, ", "));
}

} // namespace core::protocol
