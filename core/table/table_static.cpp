// SPDX-License-Identifier: ISC
// The static backend (OpenSMTPD table_static.c): inline tables and text files, held in memory.
#include "core/table/table.hpp"
#include "core/table/table_file_format.hpp"
#include "core/util/strings.hpp"

#include <unordered_map>
#include <vector>

namespace core::table {

namespace {

class StaticTable final : public Table {
public:
    StaticTable(std::string backend, std::string source, bool is_list,
                std::vector<std::pair<std::string, std::string>> entries)
        : m_backend(std::move(backend)), m_source(std::move(source)), m_is_list(is_list) {
        m_index.reserve(entries.size());
        m_entries.reserve(entries.size());
        for (auto& entry : entries) {
            const auto [it, fresh] = m_index.emplace(entry.first, m_entries.size());
            if (fresh) {
                m_entries.push_back(std::move(entry));
            } else {
                m_entries[it->second].second = std::move(entry.second);  // a later duplicate wins, as in OpenSMTPD
            }
        }
    }

    std::string_view backend() const override { return m_backend; }
    bool in_memory() const override { return true; }
    std::string source() const override { return m_source; }
    bool is_list() const override { return m_is_list; }
    std::optional<std::size_t> size() const override { return m_index.size(); }

    Result<std::optional<std::string>> get(std::string_view key) const override {
        const auto it = m_index.find(std::string(key));
        if (it == m_index.end()) {
            return std::optional<std::string>{};
        }
        return std::optional<std::string>{m_entries[it->second].second};
    }

    Result<void> for_each(const std::function<bool(std::string_view, std::string_view)>& visit) const override {
        for (const auto& [key, value] : m_entries) {
            if (!visit(key, value)) {
                break;
            }
        }
        return {};
    }

    Result<TablePtr> reload() const override {
        if (m_backend == "file") {
            return open_file_table(m_source);
        }
        return TablePtr(std::make_shared<StaticTable>(m_backend, m_source, m_is_list, m_entries));
    }

private:
    std::string m_backend;
    std::string m_source;
    bool m_is_list;
    std::vector<std::pair<std::string, std::string>> m_entries;
    std::unordered_map<std::string, std::size_t> m_index;
};

} // namespace

TablePtr make_inline_table(std::string name, std::vector<std::pair<std::string, std::string>> entries, bool is_list) {
    for (auto& entry : entries) {
        entry.first = to_lower(entry.first);  // keys are case-insensitive, as in table files
    }
    return std::make_shared<StaticTable>("inline", "{ ... } in table " + name, is_list, std::move(entries));
}

Result<TablePtr> open_file_table(const std::filesystem::path& path) {
    MXD_TRY_ASSIGN(auto parsed, read_table_file(path));
    if (!parsed.errors.empty()) {
        const auto& first = parsed.errors.front();
        std::string message = path.string() + ":" + std::to_string(first.line) + ": " + first.message;
        if (parsed.errors.size() > 1) {
            message += " (and " + std::to_string(parsed.errors.size() - 1) + " more errors)";
        }
        return fail(Errc::parse, std::move(message));
    }
    std::vector<std::pair<std::string, std::string>> entries;
    entries.reserve(parsed.entries.size());
    for (auto& e : parsed.entries) {
        entries.emplace_back(std::move(e.key), std::move(e.value));
    }
    return TablePtr(std::make_shared<StaticTable>("file", path.string(), parsed.kind == FileKind::list,
                                                  std::move(entries)));
}

} // namespace core::table
