// SPDX-License-Identifier: ISC
#pragma once

#include "core/table/service.hpp"

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

// The typed configuration model that the daemon runs on. The parser (core/config/parser.hpp)
// builds it from smtpd.conf; builtin_default() builds it with no file at all. Names of tables,
// pki, ca and actions are kept as strings; the check guarantees that every name resolves.
namespace core::config {

// Where a statement or an operand came from, for diagnostics raised after parsing.
struct Location {
    std::filesystem::path file;
    int line = 0;
    int column = 0;
};

// Which address families a `listen on` binds.
enum class Family { any, inet4, inet6 };

// A table operand of a rule or option: a named table `<name>`, or literal values (one word, or an
// inline `{ a, b }` list), which OpenSMTPD turns into an anonymous table.
struct TableOperand {
    std::string table;               // name without brackets; empty when literal
    std::vector<std::string> values; // the literal values when table is empty
    Location where;

    bool is_table() const { return !table.empty(); }
};

// One `listen on` statement: an address, a host name such as `localhost`, an interface name,
// or the local submission socket (`listen on socket`).
struct Listener {
    enum class Kind { inet, socket };
    enum class Tls { none, starttls, require, smtps };
    enum class Auth { none, required, optional };

    Kind kind = Kind::inet;
    std::string interface;   // "127.0.0.1", "::1", "localhost", "eth0", "lo"
    std::uint16_t port = 25; // 0 asks the kernel for a free port (tests)
    Family family = Family::any;
    std::string hostname; // `hostname NAME`, empty for the machine's name

    bool port_given = false;
    Tls tls = Tls::none;
    bool tls_verify = false;      // `tls-require verify`, `smtps verify`
    std::vector<std::string> pki; // `pki NAME`, repeatable
    std::string ca;               // `ca NAME`
    std::string ciphers;
    std::string protocols;
    Auth auth = Auth::none;
    std::string auth_table;      // `auth <creds>`; empty = system passwords
    std::string hostnames_table; // `hostnames <t>`
    std::string tag;
    bool mask_src = false;
    bool no_dsn = false;
    bool proxy_v2 = false;
    bool received_auth = false;
    std::string senders_table; // `senders <t>`
    bool masquerade = false;
    std::vector<std::string> filters; // `filter NAME` or `filter { a, b }`
    Location where;
};

// `pki NAME cert|key|dhe ...`.
struct Pki {
    std::string name;
    std::filesystem::path cert;
    std::filesystem::path key;
    std::string dhe; // "", "none", "legacy", "auto"
    Location where;
    Location cert_where;
    Location key_where;
};

// `ca NAME cert FILE`.
struct Ca {
    std::string name;
    std::filesystem::path cert;
    Location where;
};

// `table NAME ...`: a backend with a source, or inline contents.
struct Table {
    enum class Backend { inline_static, file, db, proc, builtin };
    enum class Kind { unknown, list, mapping };

    std::string name;
    Backend backend = Backend::inline_static;
    std::string backend_name;     // "file", "db", or the proc/extension name ("ldap")
    std::filesystem::path source; // file, db or proc configuration path
    Kind kind = Kind::unknown;    // known for inline tables, and file tables once read
    std::vector<std::pair<std::string, std::string>> entries; // inline; value empty in lists
    std::vector<core::table::Service> uses; // the services the configuration asks of it
    Location where;
};

// `action NAME METHOD [options]`.
struct Action {
    enum class Method { mbox, maildir, lmtp, mda, forward_only, expand_only, relay };
    enum class RelayTls { default_, required, no_verify };

    std::string name;
    Method method = Method::mbox;
    std::string destination; // maildir path, lmtp host:port or socket, mda command
    bool junk = false;       // maildir junk
    bool lmtp_rcpt_to = false;
    std::string alias_table;
    std::string virtual_table;
    std::string userbase_table; // empty = <getpwnam>
    std::string user;
    std::string wrapper;
    std::optional<long long> ttl; // seconds

    // relay
    bool backup = false;
    std::string backup_mx;
    std::string helo;
    std::string helo_src_table;
    std::string domain_table;
    std::string host; // relay URL, or a table name when host_is_table
    bool host_is_table = false;
    RelayTls relay_tls = RelayTls::default_;
    bool tls_given = false;
    std::string relay_auth_table;
    std::string mail_from;
    TableOperand src;
    std::string relay_pki;
    std::string relay_ca;
    std::string ciphers;
    std::string protocols;
    bool srs = false;
    std::vector<std::string> filters;
    Location where;
};

// One criterion of a `match` rule; `present` is false when the rule does not test it.
struct Criterion {
    bool present = false;
    bool negated = false;
    bool regex = false;
    TableOperand operand; // empty for criteria without argument (`tls`, `auth`)
};

// `match [criteria] action NAME` or `match [criteria] reject`. First match wins. As in parse.y,
// `from auth` and `from mail-from` mean any host with the auth / mail_from criterion set, and
// `for rcpt-to` any domain with the rcpt_to criterion set.
struct Rule {
    enum class From { local, any, socket, src, rdns, auth, mail_from };
    enum class For { local, any, domain, rcpt_to };

    From from = From::local;
    bool from_negated = false;
    bool from_regex = false;
    TableOperand from_operand; // src/rdns/auth/mail-from operand (may be empty for rdns/auth)
    bool from_given = false;

    For for_ = For::local;
    bool for_negated = false;
    bool for_regex = false;
    TableOperand for_operand;
    bool for_given = false;

    Criterion auth;
    Criterion helo;
    Criterion mail_from;
    Criterion rcpt_to;
    Criterion tag;
    Criterion tls;

    bool reject = false;
    std::string action;
    bool legacy = false; // translated from an `accept`/`reject` line
    Location where;
};

// `smtp ...` options.
struct SmtpOptions {
    long long max_mails = 100;
    long long max_rcpt = 1000;
    long long max_sessions = 1000;           // mxd extension: sessions at once, all clients
    long long max_sessions_per_client = 100; // mxd extension: sessions at once from one address
    long long max_message_size = 35LL * 1024 * 1024;
    char sub_addr_delim = '+';
    std::string ciphers = "HIGH:!aNULL:!MD5";
};

// `queue ...` options, with the mxd extension `queue directory`.
struct QueueOptions {
    long long ttl = 4LL * 24 * 3600;
    std::optional<long long> backoff; // mxd extension `queue backoff DELAY`: retry n waits DELAY * n^2
    bool compression = false;
    bool encryption = false;
    std::string encryption_key; // empty: ask at start; "stdin" or "-": read a line
};

// `mta ...` options. Limits are OpenSMTPD's key/value pairs, defaults filled in.
struct MtaOptions {
    long long max_deferred = 100;
    std::map<std::string, long long> limits;
    Family family = Family::any;
    std::map<std::string, std::map<std::string, long long>> domain_limits;
};

// `mda ...` options.
struct MdaOptions {
    std::map<std::string, long long> limits;
    std::map<std::string, std::string> wrappers;
};

// `srs ...` options.
struct SrsOptions {
    std::string key;
    std::string backup_key;
    long long ttl = 4LL * 24 * 3600;
};

// `proc NAME "command" [user U] [group G] [chroot DIR]`.
struct Proc {
    std::string name;
    std::string command;
    std::string user;
    std::string group;
    std::string chroot;
    Location where;
};

// `filter NAME ...`: parsed and kept as words, since mxd does not run filters yet.
struct Filter {
    std::string name;
    std::string kind;               // "phase", "proc", "proc-exec", "chain"
    std::vector<std::string> words; // the rest of the statement
    Location where;
};

// The whole configuration. source_file is empty for the built-in default.
struct Config {
    std::filesystem::path source_file;
    std::filesystem::path queue_directory; // `queue directory "/path"` (mxd extension)
    std::vector<Listener> listeners;
    std::vector<std::string> control_read_groups;  // `control group read "GROUP"` (mxd extension)
    std::vector<std::string> control_admin_groups; // `control group admin "GROUP"` (mxd extension)

    std::map<std::string, std::string> macros;
    std::vector<Pki> pkis;
    std::vector<Ca> cas;
    std::vector<Table> tables; // built-in tables (Backend::builtin) appear once referenced
    std::vector<Action> actions;
    std::vector<Rule> rules;
    SmtpOptions smtp;
    QueueOptions queue;
    std::vector<long long> bounce_warn_intervals{4LL * 3600};
    MtaOptions mta;
    MdaOptions mda;
    std::map<std::string, long long> scheduler_limits;
    SrsOptions srs;
    std::vector<Proc> procs;
    std::vector<Filter> filters;
    std::string admd;

    // Lookups by name; nullptr when absent.
    const Table* find_table(std::string_view name) const;
    const Action* find_action(std::string_view name) const;
    const Pki* find_pki(std::string_view name) const;
    const Ca* find_ca(std::string_view name) const;
};

// Fills the limit maps of mta, mda and scheduler with OpenSMTPD's defaults.
void set_default_limits(Config& config);

} // namespace core::config
