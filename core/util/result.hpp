// SPDX-License-Identifier: ISC
#pragma once

#include "core/util/error.hpp"

#include <cassert>
#include <type_traits>
#include <utility>
#include <variant>

namespace core {

// Wraps an error so that it converts to any Result<T> (std::unexpected's role).
struct Unexpected {
    Error error;
};

// Shorthand for returning a failure: `return fail(Errc::not_found, "no such table");`.
inline Unexpected fail(Errc code, std::string message) { return Unexpected{Error{code, std::move(message)}}; }
inline Unexpected fail(Error error) { return Unexpected{std::move(error)}; }

// A value or an Error, with std::expected's member names so that it can become an alias of
// std::expected under C++23. value() on an error is a programmer error (asserts).
template <typename T> class [[nodiscard]] Result {
public:
    Result(T value) : m_state(std::in_place_index<0>, std::move(value)) {}
    Result(Unexpected failure) : m_state(std::in_place_index<1>, std::move(failure.error)) {}
    template <typename U>
        requires(std::is_constructible_v<T, U&&> && !std::is_same_v<std::decay_t<U>, Result> &&
                 !std::is_same_v<std::decay_t<U>, Unexpected> && !std::is_same_v<std::decay_t<U>, T>)
    Result(U&& value) : m_state(std::in_place_index<0>, T(std::forward<U>(value))) {}

    bool has_value() const noexcept { return m_state.index() == 0; }
    explicit operator bool() const noexcept { return has_value(); }

    T& value() & {
        assert(has_value());
        return std::get<0>(m_state);
    }
    const T& value() const& {
        assert(has_value());
        return std::get<0>(m_state);
    }
    T&& value() && {
        assert(has_value());
        return std::get<0>(std::move(m_state));
    }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }

    const Error& error() const& {
        assert(!has_value());
        return std::get<1>(m_state);
    }
    Error&& error() && {
        assert(!has_value());
        return std::get<1>(std::move(m_state));
    }

    template <typename U> T value_or(U&& fallback) const& {
        return has_value() ? value() : static_cast<T>(std::forward<U>(fallback));
    }

private:
    std::variant<T, Error> m_state;
};

// Result<void>: success carries nothing.
template <> class [[nodiscard]] Result<void> {
public:
    Result() = default;
    Result(Unexpected failure) : m_error(std::move(failure.error)), m_failed(true) {}

    bool has_value() const noexcept { return !m_failed; }
    explicit operator bool() const noexcept { return has_value(); }
    void value() const { assert(has_value()); }
    const Error& error() const& {
        assert(m_failed);
        return m_error;
    }
    Error&& error() && {
        assert(m_failed);
        return std::move(m_error);
    }

private:
    Error m_error;
    bool m_failed = false;
};

} // namespace core

// Propagates a failed Result out of the calling function (ccache TRY).
#define MXD_TRY(expr)                                                                              \
    do {                                                                                           \
        auto&& mxd_try_result_ = (expr);                                                           \
        if (!mxd_try_result_) {                                                                    \
            return ::core::fail(std::move(mxd_try_result_).error());                               \
        }                                                                                          \
    } while (false)

// Assigns a Result's value to `lhs` (a declaration such as `const auto x` or an lvalue), or
// propagates its error.
#define MXD_TRY_ASSIGN(lhs, expr) MXD_TRY_ASSIGN_IMPL_(MXD_TRY_CONCAT_(mxd_try_, __LINE__), lhs, expr)
#define MXD_TRY_CONCAT_(a, b) MXD_TRY_CONCAT2_(a, b)
#define MXD_TRY_CONCAT2_(a, b) a##b
#define MXD_TRY_ASSIGN_IMPL_(tmp, lhs, expr)                                                      \
    auto&& tmp = (expr);                                                                           \
    if (!tmp) {                                                                                    \
        return ::core::fail(std::move(tmp).error());                                               \
    }                                                                                              \
    lhs = std::move(tmp).value()
