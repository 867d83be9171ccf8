// SPDX-License-Identifier: ISC
// Lookups per second on a db table built by makemap: `table_lookup_bench DB KEYS [ROUNDS]`
// looks every key of the KEYS file (one per line) up through the db backend, ROUNDS times,
// and prints `lookups=N seconds=S per_second=R found=F`.
#include "core/table/table.hpp"

#include <chrono>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

int main(int argc, char** argv) {
    if (argc < 3) {
        std::cerr << "usage: table_lookup_bench DB KEYS [ROUNDS]\n";
        return 64;
    }
    auto table = core::table::open_db_table(argv[1]);
    if (!table) {
        std::cerr << "table_lookup_bench: " << table.error().message << "\n";
        return 1;
    }
    std::vector<std::string> keys;
    std::ifstream in(argv[2]);
    for (std::string line; std::getline(in, line);) {
        keys.push_back(line);
    }
    const int rounds = argc > 3 ? std::stoi(argv[3]) : 1;
    std::size_t found = 0;
    const auto start = std::chrono::steady_clock::now();
    for (int r = 0; r < rounds; ++r) {
        for (const auto& key : keys) {
            auto value = (*table)->get(key);
            found += value && *value ? 1 : 0;
        }
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const auto lookups = keys.size() * static_cast<std::size_t>(rounds);
    std::cout << "lookups=" << lookups << " seconds=" << seconds << " per_second=" << static_cast<long>(lookups / seconds)
              << " found=" << found << "\n";
    return 0;
}
