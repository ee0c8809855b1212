// The text syntax of `kvctl txn` (stdin), parsed into a net::TxnRequest with no I/O. The
// syntax is documented in `kvctl txn --help` (kvctl_args.cc); in short, etcdctl's: compares,
// a blank line, success ops, a blank line, failure ops.
//
//   ver("balance") = 3          val("k") != "v"         absent("lock")     exists("k")
//   put KEY VALUE [--prev-kv]
//   get KEY [END] [--prefix] [--from-key] [--limit N] [--keys-only] [--count-only] [--serializable]
//   del KEY [END] [--prefix] [--from-key] [--prev-kv]
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "client/types.h"

namespace kv::kvctl {

struct TxnParseResult {
  std::optional<client::TxnRequest> txn;  // set when the text is good
  std::string error;                      // else "line N: what is wrong"
};

TxnParseResult parse_txn(std::string_view text);

struct Word {
  std::string text;
  bool quoted = false;  // a quoted word is never a flag nor punctuation

  bool operator==(const Word&) const = default;
};

// Splits one line into words: bare words end at whitespace; "double quoted" words take the
// escapes \" \\ \n \t \r \0 \xHH; 'single quoted' words are literal. With `punctuation`, the
// characters ( ) = ! < > also end bare words and are words of their own ("!=" and "==" are
// one). nullopt (with `error` set) on an unterminated quote or a bad escape.
std::optional<std::vector<Word>> split_words(std::string_view line, bool punctuation, std::string& error);

}  // namespace kv::kvctl
