// SPDX-License-Identifier: ISC
// The built-in <getpwnam> userinfo table (OpenSMTPD table_getpwnam.c): the system's users.
#include "core/table/table.hpp"

#include <pwd.h>

#include <vector>

namespace core::table {

namespace {

class GetpwnamTable final : public Table {
public:
    std::string_view backend() const override { return "getpwnam"; }
    std::string source() const override { return "the system's user database"; }
    bool is_list() const override { return false; }
    std::optional<std::size_t> size() const override { return std::nullopt; }

    // userinfo's value form: uid:gid:home.
    Result<std::optional<std::string>> get(std::string_view key) const override {
        passwd pw{};
        passwd* found = nullptr;
        std::vector<char> buffer(16384);
        const std::string name(key);
        const int rc = ::getpwnam_r(name.c_str(), &pw, buffer.data(), buffer.size(), &found);
        if (rc != 0) {
            return fail(Error::from_errno(rc, "getpwnam", name));
        }
        if (found == nullptr) {
            return std::optional<std::string>{};
        }
        return std::optional<std::string>{std::to_string(pw.pw_uid) + ":" + std::to_string(pw.pw_gid) + ":" +
                                          pw.pw_dir};
    }

    Result<void> for_each(const std::function<bool(std::string_view, std::string_view)>&) const override {
        return fail(Errc::unsupported, "<getpwnam> cannot list its entries");
    }

    Result<TablePtr> reload() const override { return make_getpwnam_table(); }
};

} // namespace

TablePtr make_getpwnam_table() { return std::make_shared<GetpwnamTable>(); }

} // namespace core::table
