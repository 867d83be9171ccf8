// SPDX-License-Identifier: ISC
#include "core/expand/expand.hpp"

#include "core/table/lookup.hpp"
#include "core/table/table_file_format.hpp"
#include "core/util/strings.hpp"

#include <cctype>
#include <charconv>
#include <deque>
#include <map>

namespace core::expand {

namespace {

using core::config::Action;
using Method = core::config::Action::Method;

// One node of the expansion tree (OpenSMTPD struct expandnode). Addresses go through the
// rules, user names through the action's tables and the user's .forward; commands, files and
// errors are leaves.
struct Node {
    enum class Type { address, user, command, file, error };
    Type type = Type::address;
    std::string value; // address, user name, command line, path, or error text
    int code = 0;
    const Action* action = nullptr; // nullptr: an address that must be routed first
    std::optional<std::size_t> parent;
    int depth = 0;
    bool sameuser = false;  // a user name whose parent is the same user name
    bool realuser = false;  // the userbase knows it: `user` is filled in
    bool forwarded = false; // its .forward was asked for
    LocalUser user;
    std::string subaddress;
};

std::string node_name(const Node& node) {
    switch (node.type) {
    case Node::Type::address:
    case Node::Type::user:
    case Node::Type::file:
        return node.value;
    case Node::Type::command:
        return "|" + node.value;
    case Node::Type::error:
        return "error:" + std::to_string(node.code) + " " + node.value;
    }
    return node.value;
}

std::string join(const std::vector<std::string>& parts, std::string_view separator) {
    std::string out;
    for (const auto& part : parts) {
        if (!out.empty()) {
            out += separator;
        }
        out += part;
    }
    return out;
}

bool starts_with_nocase(std::string_view text, std::string_view prefix) {
    return text.size() >= prefix.size() && to_lower(text.substr(0, prefix.size())) == prefix;
}

bool is_digit(char c) {
    return std::isdigit(static_cast<unsigned char>(c)) != 0;
}
bool is_alnum(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0;
}

// A failed lookup or read defers the recipient: OpenSMTPD answers LKA_TEMPFAIL ("424 4.2.4
// Mailing list expansion problem") to any backend error during expansion.
template <typename T> Result<T> deferred(Result<T> result, const std::string& what) {
    if (!result) {
        return fail(Errc::temp_failure, what + ": " + result.error().message);
    }
    return result;
}

// The non-comment lines of a .forward or :include: file, each split like an alias value.
// Only whole-line `#` comments are recognised, as in the table parser (table(5)), so that a
// '#' inside a command survives.
std::vector<std::string> file_targets(std::string_view text) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start <= text.size()) {
        auto end = text.find('\n', start);
        if (end == std::string_view::npos) {
            end = text.size();
        }
        const auto line = trim(text.substr(start, end - start));
        if (!line.empty() && line.front() != '#') {
            for (auto& element : core::table::split_alias_value(line)) {
                out.push_back(std::move(element));
            }
        }
        start = end + 1;
    }
    return out;
}


// Where a target list came from, which decides whether `:include:` is honoured.
enum class Includes { allowed, forbidden };

class Expander {
  public:
    explicit Expander(const Context& context)
        : m_context(context), m_delim(context.config.smtp.sub_addr_delim) {}

    // The steps so far, also after run() failed.
    const std::vector<std::string>& steps() const { return m_out.steps; }

    Result<Expansion> run(const Action& action, std::string_view recipient) {
        m_out.steps.push_back("expand " + std::string(recipient) + " with action \"" + action.name +
                              "\"");
        Node root;
        root.type = Node::Type::address;
        root.value = std::string(recipient);
        root.action = &action;
        MXD_TRY(insert(std::move(root), std::nullopt));
        // Breadth first, in insertion order, like lka_resume()'s node queue.
        while (!m_queue.empty()) {
            const auto index = m_queue.front();
            m_queue.pop_front();
            MXD_TRY(expand_node(index));
        }
        if (m_out.deliveries.empty()) {
            if (m_loop) {
                return fail(Errc::invalid_argument,
                            "expansion loop " + *m_loop + " leaves nothing to deliver");
            }
            // lka_resume(): "expanded to empty delivery list", 524 5.2.4.
            return fail(Errc::invalid_argument,
                        "expansion of " + std::string(recipient) + " gives no deliveries");
        }
        return std::move(m_out);
    }

  private:
    Result<void> expand_node(std::size_t index) {
        const Node& node = m_nodes[index];
        if (node.depth >= k_expand_depth_max) {
            return fail(Errc::invalid_argument, "expansion deeper than " +
                                                    std::to_string(k_expand_depth_max) +
                                                    " levels at " + node_name(node));
        }
        switch (node.type) {
        case Node::Type::address:
            return expand_address(index);
        case Node::Type::user:
            return expand_user(index);
        case Node::Type::command:
        case Node::Type::file:
        case Node::Type::error:
            return expand_leaf(index);
        }
        return {};
    }

    // An address: the rules pick its action (the recipient's action was picked by the
    // caller); a relay action takes it as is, a virtual action maps it through its table, and
    // any other local action delivers to the user named by its local part.
    Result<void> expand_address(std::size_t index) {
        const std::string address = m_nodes[index].value;
        const Action* action = m_nodes[index].action;
        if (action == nullptr) {
            if (!m_context.route) {
                // lka_expand() passes every EXPAND_ADDRESS node through ruleset_match(), even one
                // in the recipient's own domain; without a router the caller does that.
                m_out.steps.push_back("address " + address + ": back through the rules");
                Delivery delivery;
                delivery.kind = Delivery::Kind::address;
                delivery.address = address;
                delivery.recipient = address;
                return deliver(std::move(delivery));
            }
            MXD_TRY_ASSIGN(action, m_context.route(address));
            if (action == nullptr) {
                return fail(Errc::not_found, "the rules refuse " + address);
            }
            m_out.steps.push_back("route " + address + " -> action \"" + action->name + "\"");
            m_nodes[index].action = action;
        }
        if (action->method == Method::relay) {
            Delivery delivery;
            delivery.kind = Delivery::Kind::relay;
            delivery.action = action->name;
            delivery.address = address;
            delivery.recipient = address;
            return deliver(std::move(delivery));
        }
        if (!action->virtual_table.empty()) {
            MXD_TRY_ASSIGN(const auto table, find_table(action->virtual_table));
            MXD_TRY_ASSIGN(
                const auto match,
                deferred(core::table::lookup_virtual(*table, address, m_delim),
                         "virtual lookup of " + address + " in <" + action->virtual_table + ">"));
            if (!match) {
                // lka_expand(): "no aliases for virtual", a permanent failure.
                return fail(Errc::not_found, "no virtual entry for " + address + " in <" +
                                                 action->virtual_table + ">");
            }
            log_lookup("virtual", address, match->key, match->value);
            MXD_TRY_ASSIGN(const auto count,
                           insert_values(match->value, index, "<" + action->virtual_table + ">",
                                         Includes::allowed));
            static_cast<void>(count); // a key with an empty value expands to nothing
            return {};
        }
        const auto at = address.rfind('@');
        Node user;
        user.type = Node::Type::user;
        user.value = to_lower(at == std::string::npos ? address : address.substr(0, at));
        user.action = action;
        return insert(std::move(user), index);
    }

    // A user name: its alias (or bare-user virtual) entry when there is one, else the
    // userbase's user and then its .forward.
    Result<void> expand_user(std::size_t index) {
        const std::string name = m_nodes[index].value;
        const Action& action = *m_nodes[index].action;
        const bool sameuser = m_nodes[index].sameuser;
        // `root: root, admin` makes a `root` under `root`: OpenSMTPD (expand_insert sets
        // sameuser) skips the tables for it, so it reaches the mailbox instead of looping.
        if (!sameuser && (!action.alias_table.empty() || !action.virtual_table.empty())) {
            const bool is_alias = !action.alias_table.empty();
            const auto& table_name = is_alias ? action.alias_table : action.virtual_table;
            MXD_TRY_ASSIGN(const auto table, find_table(table_name));
            MXD_TRY_ASSIGN(const auto match, lookup_user(*table, name, table_name));
            if (match) {
                log_lookup(is_alias ? "alias" : "virtual", name, match->key, match->value);
                MXD_TRY_ASSIGN(
                    const auto count,
                    insert_values(match->value, index, "<" + table_name + ">", Includes::allowed));
                static_cast<void>(count);
                return {};
            }
        }
        // gilles+hackers -> gilles: the tag is not an alias key, so it names the mailbox's user.
        std::string user = name;
        std::string tag;
        if (const auto pos = m_delim != '\0' ? name.find(m_delim) : std::string::npos;
            pos != std::string::npos) {
            user = name.substr(0, pos);
            tag = name.substr(pos + 1);
        }
        MXD_TRY_ASSIGN(const auto info, find_user(action, user));
        if (!info) {
            return fail(Errc::not_found, "user unknown: " + user);
        }
        m_out.steps.push_back("user " + user + " (uid " + std::to_string(info->uid) + ", gid " +
                              std::to_string(info->gid) + ", home " + info->home + ")");
        {
            Node& node = m_nodes[index];
            node.realuser = true;
            node.user = *info;
            node.subaddress = tag;
        }
        // The user's own .forward names the user again: deliver (lka_expand "same user,
        // submitting").
        if (sameuser && m_nodes[*m_nodes[index].parent].forwarded) {
            return deliver_user(index);
        }
        m_nodes[index].forwarded = true;
        std::optional<std::string> forward;
        if (m_context.read_forward) {
            MXD_TRY_ASSIGN(forward, deferred(m_context.read_forward(info->home, info->uid),
                                             "reading ~" + user + "/.forward"));
        }
        std::size_t count = 0;
        if (forward) {
            m_out.steps.push_back("forward " + user + " -> " + join(file_targets(*forward), ", "));
            MXD_TRY_ASSIGN(count, insert_list(file_targets(*forward), index,
                                              "~" + user + "/.forward", Includes::forbidden));
        }
        if (count != 0) {
            return {};
        }
        return deliver_user(index);
    }

    // Commands, files and errors: checked, then delivered.
    Result<void> expand_leaf(std::size_t index) {
        const Node& node = m_nodes[index];
        const Node& parent = m_nodes[*node.parent];
        const Action& action = *node.action;
        // lka_expand(): forward-only may only forward, and root's .forward may not run
        // commands or write files as root; both are deferred, not bounced, so that the
        // administrator can fix the configuration while the mail waits.
        if (action.method == Method::forward_only) {
            return fail(Errc::temp_failure,
                        node_name(node) + " on forward-only action \"" + action.name + "\"");
        }
        if (node.type != Node::Type::error && parent.type == Node::Type::user && parent.realuser &&
            parent.user.uid == 0) {
            return fail(Errc::temp_failure, node_name(node) + " is not allowed in root's .forward");
        }
        Delivery delivery;
        delivery.recipient = origin(index);
        switch (node.type) {
        case Node::Type::command:
        case Node::Type::file:
            delivery.kind =
                node.type == Node::Type::command ? Delivery::Kind::command : Delivery::Kind::file;
            delivery.action = action.name;
            delivery.target = node.value;
            // A .forward's commands run as its owner; an alias's run as the action's `user`,
            // else unprivileged (lka_submit(): SMTPD_USER unless the parent is a real user).
            if (parent.type == Node::Type::user && parent.realuser) {
                delivery.run_as = parent.user;
            }
            break;
        case Node::Type::error:
            delivery.kind = Delivery::Kind::error;
            delivery.code = node.code;
            delivery.text = node.value;
            break;
        case Node::Type::address:
        case Node::Type::user:
            break;
        }
        return deliver(std::move(delivery));
    }

    // A user's mailbox, through the action's method.
    Result<void> deliver_user(std::size_t index) {
        const Node& node = m_nodes[index];
        const Action& action = *node.action;
        // lka_session_forward_reply(): with no (or an empty) .forward, forward-only defers and
        // expand-only, which has no delivery method of its own, fails permanently.
        if (action.method == Method::forward_only) {
            return fail(Errc::temp_failure, "no .forward for user " + node.user.name +
                                                " on forward-only action \"" + action.name + "\"");
        }
        if (action.method == Method::expand_only) {
            return fail(Errc::invalid_argument, "user " + node.user.name +
                                                    " has no .forward and expand-only action \"" +
                                                    action.name + "\" cannot deliver to a mailbox");
        }
        Delivery delivery;
        delivery.kind = Delivery::Kind::user;
        delivery.action = action.name;
        delivery.recipient = origin(index);
        delivery.user = node.user;
        delivery.subaddress = node.subaddress;
        return deliver(std::move(delivery));
    }

    Result<void> deliver(Delivery delivery) {
        if (m_out.deliveries.size() >= k_expand_deliveries_max) {
            return fail(Errc::invalid_argument, "expansion gives more than " +
                                                    std::to_string(k_expand_deliveries_max) +
                                                    " deliveries");
        }
        m_out.steps.push_back("deliver " + delivery.describe());
        m_out.deliveries.push_back(std::move(delivery));
        return {};
    }

    // Adds a node under `parent` unless the same node was already seen (expand_insert()). A
    // node seen among its own ancestors is a loop: it is dropped like any duplicate, and
    // remembered for the error when nothing else is delivered.
    Result<void> insert(Node node, std::optional<std::size_t> parent) {
        if (parent) {
            const Node& up = m_nodes[*parent];
            node.parent = parent;
            node.depth = up.depth + 1;
            if (node.action == nullptr && node.type != Node::Type::address) {
                node.action = up.action;
            }
            node.sameuser = node.type == Node::Type::user && up.type == Node::Type::user &&
                            up.value == node.value;
        }
        const std::string key = node_key(node);
        if (const auto seen = m_seen.find(key); seen != m_seen.end()) {
            std::vector<std::string> path{node_name(node)};
            bool loop = false;
            for (auto at = parent; at; at = m_nodes[*at].parent) {
                path.push_back(node_name(m_nodes[*at]));
                if (*at == seen->second) {
                    loop = true;
                    break;
                }
            }
            if (loop) {
                const std::vector<std::string> forward(path.rbegin(), path.rend());
                const auto text = join(forward, " -> ");
                m_out.steps.push_back("loop " + text + ", dropped");
                if (!m_loop) {
                    m_loop = text;
                }
            } else {
                m_out.steps.push_back("duplicate " + node_name(node) + ", dropped");
            }
            return {};
        }
        if (m_nodes.size() >= k_expand_nodes_max) {
            return fail(Errc::invalid_argument, "expansion visits more than " +
                                                    std::to_string(k_expand_nodes_max) +
                                                    " addresses");
        }
        m_seen.emplace(key, m_nodes.size());
        m_queue.push_back(m_nodes.size());
        m_nodes.push_back(std::move(node));
        return {};
    }

    // What makes two nodes the same (expand_cmp(): type, sameuser, rule, value). Addresses
    // ignore the action, since the rules pick it again; commands and files include who runs
    // them, so that two users' identical .forward pipes both run.
    std::string node_key(const Node& node) const {
        std::string key(1, static_cast<char>('0' + static_cast<int>(node.type)));
        key += node.sameuser ? '1' : '0';
        if (node.type != Node::Type::address && node.action != nullptr) {
            key += node.action->name;
        }
        key += '\n';
        if ((node.type == Node::Type::command || node.type == Node::Type::file) && node.parent) {
            const Node& up = m_nodes[*node.parent];
            if (up.type == Node::Type::user && up.realuser) {
                key += std::to_string(up.user.uid);
            }
        }
        key += '\n';
        key += node.type == Node::Type::error ? std::to_string(node.code) + " " + node.value
                                              : node.value;
        return key;
    }

    // Inserts the targets of a table value under `parent`; the number of targets.
    Result<std::size_t> insert_values(const std::string& value, std::size_t parent,
                                      const std::string& source, Includes includes) {
        return insert_list(core::table::split_alias_value(value), parent, source, includes);
    }

    Result<std::size_t> insert_list(const std::vector<std::string>& elements, std::size_t parent,
                                    const std::string& source, Includes includes) {
        std::size_t count = 0;
        for (const auto& element : elements) {
            if (trim(element).empty()) {
                continue;
            }
            const auto target = parse_target(element);
            if (!target) {
                // A bad entry defers the mail rather than bouncing it (OpenSMTPD's table
                // lookup fails with -1, a temporary failure, when a value does not parse).
                return fail(Errc::temp_failure, "invalid target \"" + element + "\" in " + source);
            }
            Node node;
            switch (target->kind) {
            case Target::Kind::include: {
                // aliases(5): an included file holds more targets. OpenSMTPD reads includes
                // only from alias and virtual values, not from a .forward, and not nested.
                if (includes == Includes::forbidden) {
                    m_out.steps.push_back(":include:" + target->value + " in " + source +
                                          " ignored");
                    continue;
                }
                std::optional<std::string> text;
                if (m_context.read_include) {
                    MXD_TRY_ASSIGN(text, deferred(m_context.read_include(target->value),
                                                  "reading " + target->value));
                }
                if (!text) {
                    m_out.steps.push_back("include " + target->value + ": no such file");
                    continue;
                }
                const auto inner = file_targets(*text);
                m_out.steps.push_back("include " + target->value + " -> " + join(inner, ", "));
                MXD_TRY_ASSIGN(const auto added,
                               insert_list(inner, parent, target->value, Includes::forbidden));
                count += added;
                continue;
            }
            case Target::Kind::command:
                node.type = Node::Type::command;
                break;
            case Target::Kind::file:
                node.type = Node::Type::file;
                break;
            case Target::Kind::error:
                node.type = Node::Type::error;
                node.code = target->code;
                break;
            case Target::Kind::address:
                node.type = Node::Type::address;
                break;
            case Target::Kind::user:
                node.type = Node::Type::user;
                break;
            }
            node.value = target->value;
            if (node.type == Node::Type::address && node.value.back() == '@') {
                // `postmaster@`: the same user part in the recipient's domain.
                const auto from = origin(parent);
                const auto at = from.rfind('@');
                node.value += at == std::string::npos ? std::string{} : from.substr(at + 1);
            }
            ++count;
            MXD_TRY(insert(std::move(node), parent));
        }
        return count;
    }

    // The address a node was expanded from (lka_find_ancestor(EXPAND_ADDRESS)).
    std::string origin(std::size_t index) const {
        for (std::optional<std::size_t> at = index; at; at = m_nodes[*at].parent) {
            if (m_nodes[*at].type == Node::Type::address) {
                return m_nodes[*at].value;
            }
        }
        return {};
    }

    void log_lookup(std::string_view kind, const std::string& what, const std::string& key,
                    const std::string& value) {
        std::string line(kind);
        line += " " + what;
        if (key != to_lower(what)) {
            line += " (key " + key + ")";
        }
        line += " -> " + join(core::table::split_alias_value(value), ", ");
        m_out.steps.push_back(std::move(line));
    }

    // A user name in an alias table (aliases(5)) or, as a bare user, in a virtual table:
    // `user+tag` first, then `user` (aliases_get()). Bare users do not fall through to the
    // virtual table's `@domain` and `@` catch-alls, which would swallow every local user name
    // the table itself produces.
    Result<std::optional<core::table::Match>> lookup_user(const core::table::Table& table,
                                                          const std::string& name,
                                                          const std::string& table_name) {
        const std::string what = "lookup of " + name + " in <" + table_name + ">";
        MXD_TRY_ASSIGN(
            auto match,
            deferred(core::table::lookup(table, core::table::Service::alias, name), what));
        if (match) {
            return match;
        }
        if (const auto pos = m_delim != '\0' ? name.find(m_delim) : std::string::npos;
            pos != std::string::npos) {
            return deferred(
                core::table::lookup(table, core::table::Service::alias, name.substr(0, pos)), what);
        }
        return std::optional<core::table::Match>{};
    }

    // The action's userbase entry for `user` (default <getpwnam>); nullopt when unknown.
    Result<std::optional<LocalUser>> find_user(const Action& action, const std::string& user) {
        const std::string table_name =
            action.userbase_table.empty() ? std::string("getpwnam") : action.userbase_table;
        MXD_TRY_ASSIGN(const auto table, find_table(table_name));
        MXD_TRY_ASSIGN(const auto match,
                       deferred(core::table::lookup(*table, core::table::Service::userinfo, user),
                                "userinfo lookup of " + user + " in <" + table_name + ">"));
        if (!match) {
            return std::optional<LocalUser>{};
        }
        auto info = parse_userinfo(user, match->value);
        if (!info) {
            return fail(Errc::temp_failure, "invalid userinfo \"" + match->value + "\" for " +
                                                user + " in <" + table_name + ">");
        }
        return info;
    }

    Result<core::table::TablePtr> find_table(const std::string& name) {
        core::table::TablePtr table = m_context.tables ? m_context.tables(name) : nullptr;
        if (!table && name == "getpwnam") {
            table = core::table::make_getpwnam_table();
        }
        if (!table) {
            return fail(Errc::temp_failure, "table <" + name + "> is not available");
        }
        return table;
    }

    const Context& m_context;
    char m_delim;
    std::vector<Node> m_nodes;
    std::deque<std::size_t> m_queue;
    std::map<std::string, std::size_t> m_seen;
    std::optional<std::string> m_loop;
    Expansion m_out;
};

} // namespace

std::string Delivery::describe() const {
    switch (kind) {
    case Kind::user: {
        std::string out = "user " + user.name;
        if (!subaddress.empty()) {
            out += " (subaddress " + subaddress + ")";
        }
        return out;
    }
    case Kind::address:
        return "address " + address;
    case Kind::relay:
        return "relay " + address + " (action " + action + ")";
    case Kind::command:
    case Kind::file: {
        std::string out = kind == Kind::command ? "command \"|" + target + "\"" : "file " + target;
        if (run_as) {
            out += " as " + run_as->name;
        }
        return out;
    }
    case Kind::error:
        return "error " + std::to_string(code) + " " + text;
    }
    return {};
}

const Delivery* Expansion::first_error() const {
    for (const auto& delivery : deliveries) {
        if (delivery.kind == Delivery::Kind::error) {
            return &delivery;
        }
    }
    return nullptr;
}

std::optional<Target> parse_target(std::string_view raw) {
    auto text = trim(raw);
    if (text.size() >= 2 && text.front() == '"' && text.back() == '"') {
        text = trim(text.substr(1, text.size() - 2));
    }
    if (text.empty()) {
        return std::nullopt;
    }
    // aliases(5): `:include:/path` (OpenSMTPD also takes `include:/path`).
    for (const std::string_view prefix : {":include:", "include:"}) {
        if (starts_with_nocase(text, prefix)) {
            const auto path = trim(text.substr(prefix.size()));
            if (path.empty() || path.front() != '/') {
                return std::nullopt;
            }
            return Target{Target::Kind::include, std::string(path), 0};
        }
    }
    if (text.front() == '|') {
        const auto command = trim(text.substr(1));
        if (command.empty()) {
            return std::nullopt;
        }
        return Target{Target::Kind::command, std::string(command), 0};
    }
    if (text.front() == '/') {
        return Target{Target::Kind::file, std::string(text), 0};
    }
    // aliases(5) `error:code message`: a 4xx or 5xx code, a space, then text that starts with
    // a letter or digit (OpenSMTPD alias_is_error()).
    for (const std::string_view prefix : {":error:", "error:"}) {
        if (starts_with_nocase(text, prefix)) {
            const auto rest = text.substr(prefix.size());
            if (rest.size() < 5 || (rest[0] != '4' && rest[0] != '5') || !is_digit(rest[1]) ||
                !is_digit(rest[2]) || rest[3] != ' ' || !is_alnum(rest[4])) {
                return std::nullopt;
            }
            const int code = (rest[0] - '0') * 100 + (rest[1] - '0') * 10 + (rest[2] - '0');
            return Target{Target::Kind::error, std::string(rest.substr(4)), code};
        }
    }
    if (const auto at = text.rfind('@'); at != std::string_view::npos) {
        const auto local = text.substr(0, at);
        const auto domain = text.substr(at + 1);
        if (local.empty()) {
            return std::nullopt;
        }
        for (const char c : local) {
            if (!is_alnum(c) &&
                std::string_view("!#$%*/?|^{}`~&'+-=_.").find(c) == std::string_view::npos) {
                return std::nullopt;
            }
        }
        for (const char c : domain) {
            if (!is_alnum(c) && c != '-' && c != '.') {
                return std::nullopt;
            }
        }
        return Target{Target::Kind::address, std::string(text), 0};
    }
    // A bare user name; `\user` (sendmail's "no further aliasing" mark) is the same user here.
    if (text.front() == '\\') {
        text.remove_prefix(1);
    }
    if (text.empty()) {
        return std::nullopt;
    }
    for (const char c : text) {
        if (!is_alnum(c) && c != '_' && c != '.' && c != '-' && c != '+') {
            return std::nullopt;
        }
    }
    return Target{Target::Kind::user, to_lower(text), 0};
}

Result<Expansion> expand(const Context& context, const Action& action, std::string_view recipient) {
    Expander expander(context);
    auto result = expander.run(action, recipient);
    if (!result && context.steps_on_failure != nullptr) {
        *context.steps_on_failure = expander.steps();
    }
    return result;
}

std::optional<LocalUser> parse_userinfo(const std::string& name, std::string_view value) {
    const auto first = value.find(':');
    const auto second = first == std::string_view::npos ? first : value.find(':', first + 1);
    if (second == std::string_view::npos) {
        return std::nullopt;
    }
    unsigned long uid = 0;
    unsigned long gid = 0;
    const auto uid_text = value.substr(0, first);
    const auto gid_text = value.substr(first + 1, second - first - 1);
    const auto [uid_end, uid_ec] =
        std::from_chars(uid_text.data(), uid_text.data() + uid_text.size(), uid);
    const auto [gid_end, gid_ec] =
        std::from_chars(gid_text.data(), gid_text.data() + gid_text.size(), gid);
    if (uid_ec != std::errc{} || uid_end != uid_text.data() + uid_text.size() || uid_text.empty() ||
        gid_ec != std::errc{} || gid_end != gid_text.data() + gid_text.size() || gid_text.empty() ||
        second + 1 >= value.size()) {
        return std::nullopt;
    }
    return LocalUser{name, static_cast<uid_t>(uid), static_cast<gid_t>(gid),
                     std::string(value.substr(second + 1))};
}

} // namespace core::expand
