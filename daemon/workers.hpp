// SPDX-License-Identifier: ISC
#pragma once

#include <asio.hpp>

#include <exception>
#include <optional>
#include <type_traits>

// Blocking work (fsync, SQLite, crypt, file parsing, NSS) never runs on the event loop
// (DESIGN "Inside the daemon"): it goes to this pool, and the awaiting coroutine resumes on
// its own executor when the work is done.
namespace mxd {

class Workers {
public:
    explicit Workers(std::size_t threads) : m_pool(threads) {}
    ~Workers() { m_pool.join(); }
    Workers(const Workers&) = delete;
    Workers& operator=(const Workers&) = delete;

    // Runs `work` on a worker thread and returns its result to the awaiting coroutine, which
    // resumes on its own executor. An exception from `work` is rethrown there.
    template <typename F> asio::awaitable<std::invoke_result_t<F>> run(F work) {
        using R = std::invoke_result_t<F>;
        // Plain callbacks rather than a lambda coroutine given to co_spawn: g++ 12 destroys the
        // captures of such a lambda twice when it is a temporary of a co_await expression.
        std::optional<R> result;
        std::exception_ptr error;
        co_await asio::async_initiate<decltype(asio::use_awaitable), void()>(
            [this, &work, &result, &error](auto handler) {
                auto home = asio::get_associated_executor(handler);
                asio::post(m_pool, [&work, &result, &error, handler = std::move(handler), home]() mutable {
                    try {
                        result.emplace(work());
                    } catch (...) {
                        error = std::current_exception();
                    }
                    asio::post(home, std::move(handler));
                });
            },
            asio::use_awaitable);
        if (error) {
            std::rethrow_exception(error);
        }
        co_return std::move(*result);
    }

    // Stops taking work and waits for what runs.
    void stop() {
        m_pool.stop();
        m_pool.join();
    }

private:
    asio::thread_pool m_pool;
};

} // namespace mxd
