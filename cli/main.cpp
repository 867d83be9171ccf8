// SPDX-License-Identifier: ISC
#include "cli/app.hpp"

int main(int argc, char** argv) { return mxctl::main_multicall(argc, argv); }
