// SPDX-License-Identifier: ISC
#pragma once

// The control protocol's version. Bump it on any incompatible change of the wire format or of
// a command's arguments or result; mxctl refuses to talk to a daemon of another version.
namespace core::protocol {

inline constexpr int k_protocol_version = 1;

} // namespace core::protocol
