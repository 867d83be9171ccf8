// SPDX-License-Identifier: ISC
#pragma once

#include "core/mda/outcome.hpp"

#include <string>
#include <vector>

// Delivery to a program: the `mda "command"` method and the aliases(5) `|command` target, run
// as OpenSMTPD's mda_unpriv.c runs them.
namespace core::mda {

struct ProgramOptions {
    std::string command;                  // given to `/bin/sh -c`
    std::vector<std::string> environment; // its whole environment, NAME=value
    // false: the program writes to our stdout and stderr directly (the delivery child's, which
    // the daemon captures, so that its words survive when the daemon kills it at the timeout),
    // and the text of an exit is left empty.
    bool capture_output = true;
};

// Runs `/bin/sh -c command` with `message_fd` as its stdin and waits for it. Its stdout and
// stderr are captured (the first k_text_max bytes; after it exits, output is awaited briefly,
// not from programs it left running in the background). Exit 0 is delivered, EX_TEMPFAIL
// and EX_OSERR temporary, any other status permanent, and death by a signal temporary. The
// text is what it wrote, as one line, else what its status says. A failure to start it is
// temporary. The caller bounds its run time (the delivery child's process group is killed).
Outcome run_program(const ProgramOptions& options, int message_fd);

} // namespace core::mda
