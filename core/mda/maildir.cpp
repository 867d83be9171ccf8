// SPDX-License-Identifier: ISC
#include "core/mda/maildir.hpp"

#include "core/mda/message.hpp"
#include "core/mda/sys.hpp"
#include "core/util/fd.hpp"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <ctime>

namespace core::mda {

namespace {

// OpenSMTPD's MAILADDR_ESCAPE: what mail.maildir replaces in a folder name taken from an
// address extension.
constexpr std::string_view k_mailaddr_escape = "!#$%&'*/?^`{|}~";
constexpr int k_name_attempts = 8;

Result<void> make_directory(const std::filesystem::path& path) {
    if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
        return fail(sys::temporary(errno, "mkdir", path.string()));
    }
    return {};
}

bool is_dir(const std::filesystem::path& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// Creates a maildir with its missing parents (0700, as mail.maildir), then tmp/, new/ and cur/.
Result<void> make_maildir(const std::filesystem::path& dir) {
    std::filesystem::path partial;
    for (const auto& part : dir) {
        partial /= part;
        MXD_TRY(make_directory(partial));
    }
    for (const char* sub : {"tmp", "new", "cur"}) {
        MXD_TRY(make_directory(dir / sub));
    }
    if (!is_dir(dir / "tmp") || !is_dir(dir / "new")) {
        return fail(Errc::temp_failure,
                    dir.string() + " is not a maildir (tmp/ or new/ is not a directory)");
    }
    return {};
}

std::string host_name(const std::string& given) {
    if (!given.empty()) {
        return given;
    }
    std::array<char, 256> name{};
    if (::gethostname(name.data(), name.size() - 1) != 0 || name[0] == '\0') {
        return "localhost";
    }
    return name.data();
}

Result<void> sync_directory(const std::filesystem::path& dir) {
    UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) {
        return fail(sys::temporary(errno, "open", dir.string()));
    }
    if (::fsync(fd.get()) != 0) {
        return fail(sys::temporary(errno, "fsync", dir.string()));
    }
    return {};
}

// Writes the message into a new file of `dir`/tmp and returns its name.
Result<std::string> write_tmp(const std::filesystem::path& dir, const std::string& host,
                              std::string_view message) {
    for (int attempt = 0; attempt < k_name_attempts; ++attempt) {
        std::string name = maildir_unique_name(host);
        const auto tmp = dir / "tmp" / name;
        UniqueFd fd(
            ::open(tmp.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600));
        if (!fd) {
            if (errno == EEXIST) {
                continue;
            }
            return fail(sys::temporary(errno, "open", tmp.string()));
        }
        const char* failed = nullptr;
        int err = sys::write_all(fd.get(), message);
        if (err != 0) {
            failed = "write";
        } else if (::fsync(fd.get()) != 0) {
            err = errno;
            failed = "fsync";
        } else if (::close(fd.release()) != 0) {
            err = errno;
            failed = "close";
        }
        if (failed != nullptr) {
            // Nothing half-written stays behind; a reader never looks into tmp/ anyway.
            static_cast<void>(::unlink(tmp.c_str()));
            return fail(sys::temporary(err, failed, tmp.string()));
        }
        return name;
    }
    return fail(Errc::temp_failure, "no unique file name in " + (dir / "tmp").string());
}

} // namespace

std::string maildir_folder(std::string_view subaddress) {
    std::string folder;
    for (const char c : subaddress) {
        const auto u = static_cast<unsigned char>(c);
        const bool escape =
            k_mailaddr_escape.find(c) != std::string_view::npos || u < 0x20 || u == 0x7f;
        folder += escape ? ':' : c;
    }
    // "." and ".." (and names that Maildir++ would read as nested under them) must not select
    // the maildir's parent: OpenSMTPD's first maildir code skipped leading dots, and so do we.
    const auto first = folder.find_first_not_of('.');
    return first == std::string::npos ? std::string() : folder.substr(first);
}

std::string maildir_unique_name(std::string_view hostname) {
    struct timespec now {};
    ::clock_gettime(CLOCK_REALTIME, &now);
    std::uint64_t random = 0;
    if (::getrandom(&random, sizeof random, 0) != static_cast<ssize_t>(sizeof random)) {
        random = static_cast<std::uint64_t>(now.tv_nsec) * 0x9e3779b97f4a7c15ULL ^
                 static_cast<std::uint64_t>(::getpid());
    }
    static constexpr char k_hex[] = "0123456789abcdef";
    std::string hex(16, '0');
    for (int i = 15; i >= 0; --i) {
        hex[static_cast<std::size_t>(i)] = k_hex[random & 0xf];
        random >>= 4;
    }
    std::string host;
    for (const char c : hostname) {
        if (c == '/') {
            host += "\\057";
        } else if (c == ':') {
            host += "\\072";
        } else {
            host += c;
        }
    }
    return std::to_string(now.tv_sec) + ".M" + std::to_string(now.tv_nsec / 1000) + "P" +
           std::to_string(::getpid()) + "R" + hex + "." + host;
}

Result<std::filesystem::path> deliver_maildir(const MaildirOptions& options,
                                              std::string_view message) {
    const std::filesystem::path& root = options.path;
    if (!root.is_absolute()) {
        return fail(Errc::invalid_argument,
                    "maildir path must be absolute: '" + root.string() + "'");
    }
    MXD_TRY(make_maildir(root));
    const auto junk_dir = root / ".Junk";
    if (options.junk) {
        MXD_TRY(make_maildir(junk_dir));
    }
    std::filesystem::path target = root;
    if (const auto folder = maildir_folder(options.folder); !folder.empty()) {
        // A +tag selects a folder only when the user made it (mail.maildir).
        const auto candidate = root / ("." + folder);
        if (is_dir(candidate)) {
            MXD_TRY(make_maildir(candidate));
            target = candidate;
        }
    }
    if (options.junk && is_junk(message)) {
        target = junk_dir;
    }
    MXD_TRY_ASSIGN(const std::string name, write_tmp(target, host_name(options.hostname), message));
    const auto tmp = target / "tmp" / name;
    const auto delivered = target / "new" / name;
    if (::rename(tmp.c_str(), delivered.c_str()) != 0) {
        const int err = errno;
        static_cast<void>(::unlink(tmp.c_str()));
        return fail(sys::temporary(err, "rename", tmp.string()));
    }
    // The message is delivered only once its name in new/ is on disk. Failing here after the
    // rename means the retry may deliver it twice, which the delivery rule allows; losing it not.
    MXD_TRY(sync_directory(target / "new"));
    return delivered;
}

} // namespace core::mda
