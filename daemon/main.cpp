// SPDX-License-Identifier: ISC
#include "daemon/server.hpp"

int main(int argc, char** argv) { return mxd::run(argc, argv); }
