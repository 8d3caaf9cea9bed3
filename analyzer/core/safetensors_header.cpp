// safetensors headers without the data: dtypes, one file's header (read with pread, capped), a
// checkpoint's shards and index. The one parser of the format: the runner maps data through it.
#include "llmcost/safetensors_header.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>
#include <set>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "llmcost/config_reader.h"  // quote_for_message
#include "llmcost/error.h"
#include "llmcost/input_file.h"
#include "llmcost/value.h"

namespace llmcost {

namespace fs = std::filesystem;
using nlohmann::json;

// ---------------------------------------------------------------- dtypes

namespace {

enum class Kind { Float, Int, Other };
struct DtypeRow {
  TensorDtype d;
  const char* name;
  size_t bits;
  Kind kind;
  bool runner_float;  // converted to fp32 by the runner
};
constexpr DtypeRow kDtypes[] = {
    {TensorDtype::F64, "F64", 64, Kind::Float, true},        {TensorDtype::F32, "F32", 32, Kind::Float, true},
    {TensorDtype::F16, "F16", 16, Kind::Float, true},        {TensorDtype::BF16, "BF16", 16, Kind::Float, true},
    {TensorDtype::F8_E4M3, "F8_E4M3", 8, Kind::Float, true}, {TensorDtype::F8_E5M2, "F8_E5M2", 8, Kind::Float, true},
    {TensorDtype::F8_E8M0, "F8_E8M0", 8, Kind::Float, true}, {TensorDtype::F6_E2M3, "F6_E2M3", 6, Kind::Float, false},
    {TensorDtype::F6_E3M2, "F6_E3M2", 6, Kind::Float, false}, {TensorDtype::F4, "F4", 4, Kind::Float, false},
    {TensorDtype::C64, "C64", 64, Kind::Other, false},       {TensorDtype::I64, "I64", 64, Kind::Int, false},
    {TensorDtype::I32, "I32", 32, Kind::Int, false},         {TensorDtype::I16, "I16", 16, Kind::Int, false},
    {TensorDtype::I8, "I8", 8, Kind::Int, false},            {TensorDtype::U64, "U64", 64, Kind::Int, false},
    {TensorDtype::U32, "U32", 32, Kind::Int, false},         {TensorDtype::U16, "U16", 16, Kind::Int, false},
    {TensorDtype::U8, "U8", 8, Kind::Int, false},            {TensorDtype::BOOL, "BOOL", 8, Kind::Int, false},
};
const DtypeRow& row(TensorDtype d) {
  for (const auto& r : kDtypes)
    if (r.d == d) return r;
  return kDtypes[1];
}

// JSON pointer escaping of one reference token (RFC 6901).
std::string ptr_token(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '~') out += "~0";
    else if (c == '/') out += "~1";
    else out += c;
  }
  return out;
}

constexpr int kMaxHeaderDepth = 8;  // a valid header nests 3 levels

[[noreturn]] void fail_file(const std::string& path, const std::string& what) { throw Error(path + ": " + what); }
[[noreturn]] void fail_header(const std::string& path, const std::string& pointer, const std::string& what) {
  throw Error(path + ": header " + pointer + " " + what);
}

bool ends_with(const std::string& s, const std::string& suf) {
  return s.size() >= suf.size() && s.compare(s.size() - suf.size(), suf.size(), suf) == 0;
}

}  // namespace

const char* tensor_dtype_name(TensorDtype d) { return row(d).name; }
size_t tensor_dtype_bits(TensorDtype d) { return row(d).bits; }
size_t tensor_dtype_bytes(TensorDtype d) { return row(d).bits % 8 == 0 ? row(d).bits / 8 : 0; }
bool is_float_dtype(TensorDtype d) { return row(d).runner_float; }
bool is_integer_dtype(TensorDtype d) { return row(d).kind == Kind::Int; }

std::optional<TensorDtype> parse_tensor_dtype(const std::string& name) {
  for (const auto& r : kDtypes)
    if (name == r.name) return r.d;
  return std::nullopt;
}

std::string tensor_dtype_list() {
  std::string s;
  for (const auto& r : kDtypes) s += (s.empty() ? "" : ", ") + std::string(r.name);
  return s;
}

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

int64_t TensorInfo::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

const TensorInfo* SafetensorsHeader::find(const std::string& name) const {
  auto it = std::lower_bound(tensors.begin(), tensors.end(), name,
                             [](const TensorInfo& t, const std::string& n) { return t.name < n; });
  return it != tensors.end() && it->name == name ? &*it : nullptr;
}

// ---------------------------------------------------------------- one file

SafetensorsHeader parse_safetensors_header(const std::string& path, const uint8_t* prefix, uint64_t prefix_bytes,
                                           uint64_t file_bytes) {
  if (file_bytes < 8 || prefix_bytes < 8)
    fail_file(path, "truncated safetensors file: " + std::to_string(file_bytes) + " bytes, need at least 8 for the header length");
  SafetensorsHeader out;
  out.path = path;
  out.file_bytes = file_bytes;
  uint64_t header_bytes = 0;
  for (int i = 7; i >= 0; --i) header_bytes = (header_bytes << 8) | prefix[i];
  if (header_bytes > file_bytes - 8)
    fail_file(path, "corrupt safetensors header: header length " + std::to_string(header_bytes) + " exceeds the file (" +
         std::to_string(file_bytes) + " bytes)");
  if (header_bytes > kSafetensorsMaxHeaderBytes)
    fail_file(path, "corrupt safetensors header: header length " + std::to_string(header_bytes) + " exceeds the 100 MB limit");
  if (header_bytes < 2)
    fail_file(path, "corrupt safetensors header: header length " + std::to_string(header_bytes) + " is too short for a JSON object");
  if (prefix_bytes < 8 + header_bytes) fail_file(path, "internal: header prefix shorter than the header length");
  out.header_bytes = header_bytes;
  const char* hp = reinterpret_cast<const char*>(prefix + 8);

  // A valid header nests 3 deep ({name: {shape: [...]}}); stop at the first container past the
  // limit, before a header of nested '[' builds millions of empty arrays. nlohmann keeps the last
  // of two equal keys, so a name given twice is caught here, while parsing.
  struct TooDeep {};
  struct Duplicate {
    std::string name;
  };
  std::set<std::string> top_keys;
  auto guard = [&top_keys](int depth, json::parse_event_t ev, json& parsed) {
    if ((ev == json::parse_event_t::object_start || ev == json::parse_event_t::array_start) && depth >= kMaxHeaderDepth)
      throw TooDeep{};
    if (ev == json::parse_event_t::key && depth == 1 && !top_keys.insert(parsed.get<std::string>()).second)
      throw Duplicate{parsed.get<std::string>()};
    return true;
  };
  json h;
  try {
    h = json::parse(hp, hp + header_bytes, guard, false);
  } catch (const TooDeep&) {
    fail_file(path, "corrupt safetensors header: nested deeper than " + std::to_string(kMaxHeaderDepth) + " levels");
  } catch (const Duplicate& d) {
    fail_header(path, "/" + ptr_token(d.name), "is given twice (tensor '" + d.name + "')");
  }
  if (h.is_discarded()) fail_file(path, "corrupt safetensors header: not valid JSON");
  if (!h.is_object()) fail_file(path, "corrupt safetensors header: must be a JSON object");
  const uint64_t data_bytes = file_bytes - 8 - header_bytes;

  for (auto it = h.begin(); it != h.end(); ++it) {
    const std::string& name = it.key();
    std::string ptr = "/" + ptr_token(name);
    const json& v = it.value();
    if (name == "__metadata__") {
      if (!v.is_object()) fail_header(path, ptr, "must be an object of strings");
      for (auto mt = v.begin(); mt != v.end(); ++mt) {
        if (!mt.value().is_string()) fail_header(path, ptr + "/" + ptr_token(mt.key()), "must be a string");
        out.metadata[mt.key()] = mt.value().get<std::string>();
      }
      continue;
    }
    if (!v.is_object()) fail_header(path, ptr, "must be an object {dtype, shape, data_offsets} (tensor '" + name + "')");
    TensorInfo t;
    t.name = name;
    t.file = path;
    auto dt = v.find("dtype");
    if (dt == v.end() || !dt->is_string()) fail_header(path, ptr + "/dtype", "must be a string (tensor '" + name + "')");
    auto parsed = parse_tensor_dtype(dt->get<std::string>());
    if (!parsed)
      fail_header(path, ptr + "/dtype", quote_for_message(dt->get<std::string>()) + " is not a safetensors dtype (tensor '" + name +
                                  "'; expected one of " + tensor_dtype_list() + ")");
    t.dtype = *parsed;
    auto sh = v.find("shape");
    if (sh == v.end() || !sh->is_array()) fail_header(path, ptr + "/shape", "must be an array of non-negative integers (tensor '" + name + "')");
    // The element count saturates at kHuge, so the product cannot overflow.
    constexpr uint64_t kHuge = 1ull << 56;  // x 64 bits still fits in 64 bits
    uint64_t numel = 1;
    for (size_t i = 0; i < sh->size(); ++i) {
      const json& d = (*sh)[i];
      if (!d.is_number_unsigned() || d.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        fail_header(path, ptr + "/shape/" + std::to_string(i), "must be a non-negative integer (tensor '" + name + "')");
      uint64_t dim = d.get<uint64_t>();
      t.shape.push_back(static_cast<int64_t>(dim));
      unsigned __int128 prod = static_cast<unsigned __int128>(numel) * dim;
      numel = prod > kHuge ? kHuge : static_cast<uint64_t>(prod);
    }
    auto off = v.find("data_offsets");
    if (off == v.end() || !off->is_array() || off->size() != 2 || !(*off)[0].is_number_unsigned() ||
        !(*off)[1].is_number_unsigned())
      fail_header(path, ptr + "/data_offsets", "must be [begin, end], two non-negative integers (tensor '" + name + "')");
    t.begin_bytes = (*off)[0].get<uint64_t>();
    t.end_bytes = (*off)[1].get<uint64_t>();
    if (t.begin_bytes > t.end_bytes)
      fail_header(path, ptr + "/data_offsets", "begin " + std::to_string(t.begin_bytes) + " > end " + std::to_string(t.end_bytes) +
                                         " (tensor '" + name + "')");
    if (t.end_bytes > data_bytes)
      fail_file(path, "truncated: tensor '" + name + "' ends at data byte " + std::to_string(t.end_bytes) + " but the data section has " +
           std::to_string(data_bytes) + " bytes");
    const uint64_t bits = numel * tensor_dtype_bits(t.dtype);
    if (numel != kHuge && bits % 8 != 0)
      fail_header(path, ptr + "/shape", "holds " + std::to_string(numel) + " elements of " + tensor_dtype_name(t.dtype) +
                                  ", which do not fill whole bytes (tensor '" + name + "')");
    const uint64_t want = bits / 8;
    if (numel == kHuge || t.end_bytes - t.begin_bytes != want)
      fail_header(path, ptr + "/data_offsets", "spans " + std::to_string(t.end_bytes - t.begin_bytes) + " bytes, expected " +
                                         (numel == kHuge ? std::string("more than the data section") : std::to_string(want)) +
                                         " (tensor '" + name + "', " + tensor_dtype_name(t.dtype) + " " +
                                         shape_string(t.shape) + ")");
    out.tensors.push_back(std::move(t));
  }
  // Byte ranges must not overlap (zero-size tensors overlap nothing).
  std::vector<const TensorInfo*> by_offset;
  for (const auto& t : out.tensors)
    if (t.size_bytes() > 0) by_offset.push_back(&t);
  std::sort(by_offset.begin(), by_offset.end(),
            [](const TensorInfo* a, const TensorInfo* b) { return a->begin_bytes < b->begin_bytes; });
  for (size_t i = 1; i < by_offset.size(); ++i)
    if (by_offset[i]->begin_bytes < by_offset[i - 1]->end_bytes)
      fail_file(path, "corrupt safetensors header: tensors '" + by_offset[i - 1]->name + "' and '" + by_offset[i]->name +
           "' overlap in the data section");
  std::sort(out.tensors.begin(), out.tensors.end(), [](const TensorInfo& a, const TensorInfo& b) { return a.name < b.name; });
  return out;
}

SafetensorsHeader read_safetensors_header_fd(int fd, const std::string& path, uint64_t file_bytes) {
  auto pread_all = [&](uint8_t* dst, uint64_t n, uint64_t at) {
    while (n > 0) {
      ssize_t got = ::pread(fd, dst, static_cast<size_t>(std::min<uint64_t>(n, 1u << 30)), static_cast<off_t>(at));
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) throw Error(path + ": cannot read file (" + std::strerror(errno) + ")");
      if (got == 0) throw Error(path + ": truncated safetensors file: it ended while its header was read");
      dst += got;
      n -= static_cast<uint64_t>(got);
      at += static_cast<uint64_t>(got);
    }
  };
  uint8_t len8[8] = {};
  if (file_bytes >= 8) pread_all(len8, 8, 0);
  uint64_t header_bytes = 0;
  for (int i = 7; i >= 0; --i) header_bytes = (header_bytes << 8) | len8[i];
  // Only a length that passes the checks is read; otherwise the parser reports it from the 8 bytes.
  if (file_bytes < 8 || header_bytes > file_bytes - 8 || header_bytes > kSafetensorsMaxHeaderBytes || header_bytes < 2)
    return parse_safetensors_header(path, len8, file_bytes < 8 ? 0 : 8, file_bytes);
  std::vector<uint8_t> prefix(static_cast<size_t>(8 + header_bytes));
  std::memcpy(prefix.data(), len8, 8);
  pread_all(prefix.data() + 8, header_bytes, 8);
  return parse_safetensors_header(path, prefix.data(), prefix.size(), file_bytes);
}

SafetensorsHeader read_safetensors_header(const std::string& path) {
  uint64_t file_bytes = 0;
  int fd = open_regular_file(path, &file_bytes);  // refuses a FIFO or device without blocking
  try {
    SafetensorsHeader h = read_safetensors_header_fd(fd, path, file_bytes);
    ::close(fd);
    return h;
  } catch (...) {
    ::close(fd);
    throw;
  }
}

// ---------------------------------------------------------------- a checkpoint

const TensorInfo* SafetensorsCheckpointHeaders::find(const std::string& name) const {
  auto it = tensors.find(name);
  return it == tensors.end() ? nullptr : &info(it->second);
}

namespace {

struct CheckpointReader {
  SafetensorsCheckpointHeaders& ck;
  const SafetensorsShardReader& read_shard;

  [[noreturn]] void fail(const std::string& what) const { throw Error(ck.path + ": " + what); }

  size_t add_file(const std::string& p) {
    for (size_t i = 0; i < ck.files.size(); ++i)
      if (ck.files[i].path == p) return i;
    ck.files.push_back(read_shard(p));
    return ck.files.size() - 1;
  }
  void add_all(size_t fi) {
    const auto& ts = ck.files[fi].tensors;
    for (size_t ti = 0; ti < ts.size(); ++ti) {
      auto [it, inserted] = ck.tensors.emplace(ts[ti].name, std::make_pair(fi, ti));
      if (!inserted)
        fail("tensor '" + ts[ti].name + "' appears in both " + ck.files[it->second.first].path + " and " + ck.files[fi].path);
    }
  }
  void load_index(const std::string& index_path) {
    ck.index_path = index_path;
    // Regular file, size and value count capped before parsing; parse errors name the index.
    Value j = parse_record_file(index_path);
    if (!j.is_object()) throw Error(index_path + ": / must be a JSON object");
    const Value* wm = j.find("weight_map");
    if (!wm || !wm->is_object())
      throw Error(index_path + ": /weight_map must be an object mapping tensor names to .safetensors files");
    fs::path dir = fs::path(index_path).parent_path();
    for (const auto& [name, file] : wm->members()) {
      std::string at = index_path + ": /weight_map/" + ptr_token(name);
      if (!file.is_string()) throw Error(at + " must be a file name (string)");
      const std::string& rel = file.as_string();
      // Shards live beside the index: an absolute path or a ".." would let a downloaded index
      // open any file on the machine. Symlinks inside the directory stay allowed (the Hugging
      // Face cache links every shard into blobs/).
      fs::path r(rel);
      bool escapes = rel.empty() || r.is_absolute() || r.has_root_name() || r.has_root_directory();
      for (const auto& part : r) escapes = escapes || part == "..";
      if (escapes)
        throw Error(at + " must name a file inside " + (dir.empty() ? std::string(".") : dir.string()) +
                    " (no absolute path or ..), got " + quote_for_message(rel));
      fs::path f = dir / r;
      if (std::string kind = non_regular_kind(f.string()); !kind.empty())
        throw Error(at + " names " + quote_for_message(rel) + ", which is " + kind + ", not a regular file");
      std::error_code ec;
      if (!fs::is_regular_file(f, ec)) throw Error(at + " names " + quote_for_message(rel) + ", which does not exist");
      size_t fi;
      try {
        fi = add_file(f.string());
      } catch (const Error& e) {  // the shard's own error, prefixed with the index the user gave
        throw Error(at + " names a shard that cannot be used: " + e.what());
      }
      const TensorInfo* t = ck.files[fi].find(name);
      if (!t) throw Error(at + " names " + quote_for_message(rel) + ", which has no tensor '" + name + "'");
      ck.tensors.emplace(name, std::make_pair(fi, static_cast<size_t>(t - ck.files[fi].tensors.data())));
    }
    for (const auto& f : ck.files)
      for (const auto& t : f.tensors)
        if (!ck.tensors.count(t.name)) ++ck.unindexed_tensors;
  }
};

}  // namespace

SafetensorsCheckpointHeaders read_safetensors_checkpoint(const std::string& path, const SafetensorsShardReader& read_shard) {
  SafetensorsCheckpointHeaders ck;
  ck.path = path;
  CheckpointReader r{ck, read_shard};
  std::error_code ec;
  fs::path p(path);
  if (fs::is_directory(p, ec)) {
    std::vector<fs::path> shards, indexes;
    for (const auto& e : fs::directory_iterator(p, ec)) {
      std::string n = e.path().filename().string();
      if (!e.is_regular_file(ec)) continue;
      if (ends_with(n, ".safetensors.index.json")) indexes.push_back(e.path());
      else if (ends_with(n, ".safetensors")) shards.push_back(e.path());
    }
    std::sort(shards.begin(), shards.end());
    std::sort(indexes.begin(), indexes.end());
    fs::path preferred = p / "model.safetensors.index.json";
    if (fs::is_regular_file(preferred, ec)) {
      r.load_index(preferred.string());
    } else if (indexes.size() == 1) {
      r.load_index(indexes[0].string());
    } else if (indexes.size() > 1) {
      r.fail("several *.safetensors.index.json files and no model.safetensors.index.json; name the index to use");
    } else if (shards.empty()) {
      r.fail("no .safetensors files in this directory");
    } else {
      for (const auto& s : shards) r.add_all(r.add_file(s.string()));
    }
  } else if (fs::is_regular_file(p, ec)) {
    if (ends_with(path, ".json")) r.load_index(path);
    else r.add_all(r.add_file(path));
  } else if (std::string kind = non_regular_kind(path); !kind.empty()) {
    r.fail("cannot read checkpoint (it is " + kind + ", not a regular file)");
  } else {
    r.fail("no such safetensors file or directory");
  }
  return ck;
}

bool has_safetensors(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return false;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    std::string n = e.path().filename().string();
    if (ends_with(n, ".safetensors") || ends_with(n, ".safetensors.index.json")) return true;
  }
  return false;
}

}  // namespace llmcost
