// GGUF header reader: incremental capped reads (pread, 64 KiB at a time), every length and count
// checked against what is left of the file before it is used, and the ggml type table.
#include "llmcost/gguf_header.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>

#include <unistd.h>

#include "llmcost/config_reader.h"  // escape_control_chars
#include "llmcost/error.h"
#include "llmcost/input_file.h"

namespace llmcost {

namespace {

// ggml's type_traits (ggml/src/ggml.c) with the block structs of ggml/src/ggml-common.h; QK_K = 256.
// Removed ids (Q4_2 = 4, Q4_3 = 5, Q4_0_4_4.. = 31-33, IQ4_NL_4_4.. = 36-38) are absent.
constexpr GgmlType kGgmlTypes[] = {
    {0, "F32", 1, 4, false},          {1, "F16", 1, 2, false},
    {2, "Q4_0", 32, 18, true},        // fp16 d + 16 bytes of nibbles
    {3, "Q4_1", 32, 20, true},        // fp16 d, m + 16
    {6, "Q5_0", 32, 22, true},        // fp16 d + 4 (5th bits) + 16
    {7, "Q5_1", 32, 24, true},        // fp16 d, m + 4 + 16
    {8, "Q8_0", 32, 34, true},        // fp16 d + 32
    {9, "Q8_1", 32, 36, true},        // fp16 d, s + 32
    {10, "Q2_K", 256, 84, true},      // 16 scales + 64 quants + fp16 d, dmin
    {11, "Q3_K", 256, 110, true},     // 32 hmask + 64 + 12 scales + fp16 d
    {12, "Q4_K", 256, 144, true},     // fp16 d, dmin + 12 scales + 128
    {13, "Q5_K", 256, 176, true},     // fp16 d, dmin + 12 + 32 + 128
    {14, "Q6_K", 256, 210, true},     // 128 ql + 64 qh + 16 scales + fp16 d
    {15, "Q8_K", 256, 292, true},     // f32 d + 256 + 16 int16 bsums
    {16, "IQ2_XXS", 256, 66, true},   // fp16 d + 32 uint16
    {17, "IQ2_XS", 256, 74, true},    // fp16 d + 32 uint16 + 8 scales
    {18, "IQ3_XXS", 256, 98, true},   // fp16 d + 96
    {19, "IQ1_S", 256, 50, true},     // fp16 d + 32 + 8 uint16
    {20, "IQ4_NL", 32, 18, true},     // fp16 d + 16
    {21, "IQ3_S", 256, 110, true},    // fp16 d + 64 + 8 + 32 signs + 4 scales
    {22, "IQ2_S", 256, 82, true},     // fp16 d + 64 + 8 + 8
    {23, "IQ4_XS", 256, 136, true},   // fp16 d + uint16 + 4 + 128
    {24, "I8", 1, 1, false},          {25, "I16", 1, 2, false},
    {26, "I32", 1, 4, false},         {27, "I64", 1, 8, false},
    {28, "F64", 1, 8, false},
    {29, "IQ1_M", 256, 56, true},     // 32 + 16 + 8
    {30, "BF16", 1, 2, false},
    {34, "TQ1_0", 256, 54, true},     // 48 + 4 + fp16 d
    {35, "TQ2_0", 256, 66, true},     // 64 + fp16 d
    {39, "MXFP4", 32, 17, true},      // E8M0 scale + 16 bytes of E2M1 nibbles
    {40, "NVFP4", 64, 36, true},      // 4 UE4M3 scales + 32 bytes of nibbles
    {41, "Q1_0", 128, 18, true},      // fp16 d + 16
    {42, "Q2_0", 64, 18, true},       // fp16 d + 16
};

// GGUF metadata value types.
enum : uint32_t {
  kU8 = 0, kI8 = 1, kU16 = 2, kI16 = 3, kU32 = 4, kI32 = 5, kF32 = 6, kBool = 7,
  kString = 8, kArray = 9, kU64 = 10, kI64 = 11, kF64 = 12,
};
const char* value_type_name(uint32_t t) {
  static const char* names[] = {"u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "string", "array", "u64", "i64", "f64"};
  return t <= kF64 ? names[t] : "?";
}
// Bytes of a fixed-size value type; 0 for string/array/unknown.
uint64_t fixed_size(uint32_t t) {
  switch (t) {
    case kU8: case kI8: case kBool: return 1;
    case kU16: case kI16: return 2;
    case kU32: case kI32: case kF32: return 4;
    case kU64: case kI64: case kF64: return 8;
    default: return 0;
  }
}

constexpr uint64_t kMaxKeyBytes = 65535;  // the GGUF spec's key limit
constexpr uint64_t kMaxNameBytes = 1023;  // ggml's own is 63
constexpr uint64_t kMaxKv = 65536;        // real files: tens
constexpr uint32_t kMaxDims = 4;          // GGML_MAX_DIMS
constexpr int kMaxArrayDepth = 4;
constexpr size_t kKeptMetadata = 4096;
constexpr size_t kKeptText = 200;

class Reader {
 public:
  Reader(int fd, std::string path, uint64_t size) : fd_(fd), path_(std::move(path)), size_(size), buf_(1 << 16) {}

  [[noreturn]] void fail(const std::string& what) const { throw Error(path_ + ": GGUF header: " + what); }
  uint64_t pos() const { return pos_; }
  // Bytes left before the end of the file or the header cap, whichever is first.
  uint64_t left() const { return std::min(size_, kGgufMaxHeaderBytes) - std::min(pos_, std::min(size_, kGgufMaxHeaderBytes)); }

  void need(uint64_t n, const std::string& what) const {
    if (n > size_ - std::min(pos_, size_))
      fail("truncated at byte " + std::to_string(pos_) + " reading " + what + " (needs " + std::to_string(n) +
           " bytes, the file has " + std::to_string(size_) + ")");
    if (n > kGgufMaxHeaderBytes - std::min(pos_, kGgufMaxHeaderBytes))
      fail("larger than the " + std::to_string(kGgufMaxHeaderBytes >> 20) + " MiB header limit at byte " +
           std::to_string(pos_) + " reading " + what);
  }
  void read(void* dst, uint64_t n, const std::string& what) {
    need(n, what);
    auto* out = static_cast<uint8_t*>(dst);
    while (n > 0) {
      if (pos_ < buf_pos_ || pos_ >= buf_pos_ + buf_len_) fill();
      uint64_t k = std::min<uint64_t>(n, buf_pos_ + buf_len_ - pos_);
      std::memcpy(out, buf_.data() + (pos_ - buf_pos_), static_cast<size_t>(k));
      out += k;
      n -= k;
      pos_ += k;
    }
  }
  void skip(uint64_t n, const std::string& what) {
    need(n, what);
    pos_ += n;
  }
  template <typename T>
  T get(const std::string& what) {
    T v;
    read(&v, sizeof v, what);  // GGUF is little-endian, as are the machines llmcost builds for
    return v;
  }
  // A GGUF string (uint64 length + bytes): at most `max_bytes` are kept, the rest skipped; a
  // length over `limit` is an error.
  std::string str(const std::string& what, uint64_t limit, uint64_t max_bytes) {
    uint64_t len = get<uint64_t>(what + " length");
    if (len > limit)
      fail(what + " is " + std::to_string(len) + " bytes long, over the " + std::to_string(limit) + "-byte limit");
    need(len, what);
    std::string s(static_cast<size_t>(std::min(len, max_bytes)), '\0');
    read(s.data(), s.size(), what);
    skip(len - s.size(), what);
    return s;
  }

 private:
  void fill() {
    buf_pos_ = pos_;
    buf_len_ = 0;
    uint64_t want = std::min<uint64_t>(buf_.size(), size_ - pos_);
    while (buf_len_ < want) {
      ssize_t got = ::pread(fd_, buf_.data() + buf_len_, static_cast<size_t>(want - buf_len_),
                            static_cast<off_t>(pos_ + buf_len_));
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) throw Error(path_ + ": cannot read file (" + std::strerror(errno) + ")");
      if (got == 0) fail("the file shrank while its header was read");
      buf_len_ += static_cast<uint64_t>(got);
    }
  }

  int fd_;
  std::string path_;
  uint64_t size_;
  uint64_t pos_ = 0;
  std::vector<uint8_t> buf_;
  uint64_t buf_pos_ = 0, buf_len_ = 0;
};

std::string quoted(const std::string& s) { return "'" + escape_control_chars(s) + "'"; }

// Reads (and for strings and scalars, renders) one value of type `t`; arrays are checked and
// skipped element by element where their elements have a length of their own.
std::string value(Reader& r, uint32_t t, const std::string& what, int depth) {
  if (uint64_t n = fixed_size(t)) {
    uint8_t b[8] = {};
    r.read(b, n, what);
    switch (t) {
      case kU8: return std::to_string(b[0]);
      case kI8: return std::to_string(static_cast<int8_t>(b[0]));
      case kBool: return b[0] ? "true" : "false";
      case kU16: { uint16_t v; std::memcpy(&v, b, 2); return std::to_string(v); }
      case kI16: { int16_t v; std::memcpy(&v, b, 2); return std::to_string(v); }
      case kU32: { uint32_t v; std::memcpy(&v, b, 4); return std::to_string(v); }
      case kI32: { int32_t v; std::memcpy(&v, b, 4); return std::to_string(v); }
      case kF32: { float v; std::memcpy(&v, b, 4); return std::to_string(v); }
      case kU64: { uint64_t v; std::memcpy(&v, b, 8); return std::to_string(v); }
      case kI64: { int64_t v; std::memcpy(&v, b, 8); return std::to_string(v); }
      default: { double v; std::memcpy(&v, b, 8); return std::to_string(v); }
    }
  }
  if (t == kString) return r.str(what, UINT64_MAX, kKeptText);
  if (t != kArray) r.fail(what + " has value type " + std::to_string(t) + ", which GGUF does not define (0-12)");
  if (depth >= kMaxArrayDepth) r.fail(what + " nests arrays deeper than " + std::to_string(kMaxArrayDepth) + " levels");
  const uint32_t et = r.get<uint32_t>(what + " array type");
  const uint64_t n = r.get<uint64_t>(what + " array length");
  // Every element takes at least min_bytes of the file, so a count the file cannot hold is
  // refused before any loop runs.
  const uint64_t min_bytes = fixed_size(et) ? fixed_size(et) : et == kString ? 8 : et == kArray ? 12 : 0;
  if (min_bytes == 0) r.fail(what + " is an array of value type " + std::to_string(et) + ", which GGUF does not define (0-12)");
  if (n > r.left() / min_bytes)
    r.fail(what + " is an array of " + std::to_string(n) + " " + value_type_name(et) + " values, more than the " +
           std::to_string(r.left()) + " bytes left in the header can hold");
  if (fixed_size(et)) {
    r.skip(n * min_bytes, what);
  } else {
    for (uint64_t i = 0; i < n; ++i) {
      if (et == kString) r.skip(r.get<uint64_t>(what + " element length"), what + " element " + std::to_string(i));
      else value(r, et, what + " element " + std::to_string(i), depth + 1);
    }
  }
  return "[" + std::to_string(n) + " x " + value_type_name(et) + "]";
}

}  // namespace

const GgmlType* ggml_type(uint32_t id) {
  for (const auto& t : kGgmlTypes)
    if (t.id == id) return &t;
  return nullptr;
}

bool is_gguf_path(const std::string& path) {
  return path.size() >= 5 && path.compare(path.size() - 5, 5, ".gguf") == 0;
}

GgufHeader read_gguf_header(const std::string& path) {
  uint64_t file_bytes = 0;
  int fd = open_regular_file(path, &file_bytes);  // refuses a FIFO or device without blocking
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  Reader r(fd, path, file_bytes);
  GgufHeader h;
  h.path = path;
  h.file_bytes = file_bytes;

  char magic[4];
  r.read(magic, 4, "the magic");
  if (std::memcmp(magic, "GGUF", 4) != 0) r.fail("the file does not start with the magic \"GGUF\"");
  h.version = r.get<uint32_t>("the version");
  if (h.version == 0x02000000u || h.version == 0x03000000u)
    r.fail("version " + std::to_string(h.version >> 24) + " in big-endian byte order, which is not supported (little-endian only)");
  if (h.version == 1) r.fail("version 1 (32-bit counts) is not supported; versions 2 and 3 are");
  if (h.version != 2 && h.version != 3) r.fail("version " + std::to_string(h.version) + " is not supported; versions 2 and 3 are");
  const uint64_t n_tensors = r.get<uint64_t>("the tensor count");
  const uint64_t n_kv = r.get<uint64_t>("the metadata count");
  h.n_metadata = n_kv;
  // Minimum sizes: a key/value is >= 8 (key length) + 4 (type) + 1; a tensor info >= 8 + 4 + 4 + 8.
  if (n_kv > kMaxKv || n_kv > r.left() / 13)
    r.fail("metadata count " + std::to_string(n_kv) + " is more than the file can hold (at most " +
           std::to_string(std::min(kMaxKv, r.left() / 13)) + ")");
  if (n_tensors > kGgufMaxTensors || n_tensors > r.left() / 24)
    r.fail("tensor count " + std::to_string(n_tensors) + " is more than the file can hold (at most " +
           std::to_string(std::min(kGgufMaxTensors, r.left() / 24)) + ")");

  std::set<std::string> keys;
  for (uint64_t i = 0; i < n_kv; ++i) {
    const std::string key = r.str("metadata key " + std::to_string(i), kMaxKeyBytes, kMaxKeyBytes);
    const std::string what = "metadata " + quoted(key);
    if (!keys.insert(key).second) r.fail(what + " is given twice");
    const uint32_t t = r.get<uint32_t>(what + " type");
    if (key == "general.alignment") {
      if (t != kU32) r.fail(what + " must be a u32, got " + value_type_name(t));
      const uint32_t a = r.get<uint32_t>(what);
      if (a == 0 || (a & (a - 1)) != 0) r.fail(what + " is " + std::to_string(a) + ", not a power of two");
      h.alignment = a;
      if (h.metadata.size() < kKeptMetadata) h.metadata.emplace_back(key, std::to_string(a));
      continue;
    }
    std::string v = value(r, t, what, 0);
    if ((key == "general.architecture" || key == "general.name") && t != kString)
      r.fail(what + " must be a string, got " + value_type_name(t));
    if (key == "general.architecture") h.architecture = v;
    if (key == "general.name") h.model_name = v;
    if (h.metadata.size() < kKeptMetadata) h.metadata.emplace_back(key, std::move(v));
  }

  // No reserve from the count: the vector grows with what the file actually holds.
  for (uint64_t i = 0; i < n_tensors; ++i) {
    GgufTensorInfo t;
    t.name = r.str("tensor " + std::to_string(i) + " name", kMaxNameBytes, kMaxNameBytes);
    const std::string what = "tensor " + std::to_string(i) + " " + quoted(t.name);
    const uint32_t n_dims = r.get<uint32_t>(what + " n_dims");
    if (n_dims > kMaxDims) r.fail(what + " has " + std::to_string(n_dims) + " dimensions, at most " + std::to_string(kMaxDims));
    unsigned __int128 numel = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      const uint64_t dim = r.get<uint64_t>(what + " dim " + std::to_string(d));
      if (dim > (uint64_t{1} << 62)) r.fail(what + " has dimension " + std::to_string(d) + " = " + std::to_string(dim) + ", over 2^62");
      t.dims.push_back(static_cast<int64_t>(dim));
      numel *= dim;
      if (numel > (uint64_t{1} << 62)) r.fail(what + " has more than 2^62 elements");
    }
    t.numel = static_cast<int64_t>(numel);
    t.type = r.get<uint32_t>(what + " type");
    const GgmlType* gt = ggml_type(t.type);
    if (!gt) r.fail(what + " has ggml type " + std::to_string(t.type) + ", which ggml does not define (or has removed)");
    const int64_t row = t.dims.empty() ? 1 : t.dims[0];
    if (row % gt->block != 0)
      r.fail(what + " has rows of " + std::to_string(row) + " elements, not a whole number of " + gt->name + " blocks (" +
             std::to_string(gt->block) + ")");
    t.bytes = static_cast<uint64_t>(t.numel / gt->block) * gt->block_bytes;  // < 2^62 x 292 / 256: fits
    t.offset = r.get<uint64_t>(what + " offset");
    h.tensors.push_back(std::move(t));
  }

  // The data section starts at the next multiple of the alignment.
  const uint64_t end_of_infos = r.pos();
  h.data_offset = end_of_infos + (h.alignment - end_of_infos % h.alignment) % h.alignment;
  const uint64_t data_bytes = h.data_offset <= file_bytes ? file_bytes - h.data_offset : 0;
  if (!h.tensors.empty() && h.data_offset > file_bytes)
    r.fail("truncated: the data section would start at byte " + std::to_string(h.data_offset) + " but the file has " +
           std::to_string(file_bytes) + " bytes");
  std::vector<const GgufTensorInfo*> order;
  order.reserve(h.tensors.size());
  for (const auto& t : h.tensors) {
    if (t.offset % h.alignment != 0)
      r.fail("tensor " + quoted(t.name) + " has offset " + std::to_string(t.offset) + ", not a multiple of the alignment " +
             std::to_string(h.alignment));
    if (t.offset > data_bytes || t.bytes > data_bytes - t.offset)
      r.fail("truncated: tensor " + quoted(t.name) + " spans data bytes " + std::to_string(t.offset) + " to " +
             std::to_string(t.offset + t.bytes) + " (" + ggml_type(t.type)->name + " " + std::to_string(t.numel) +
             " elements) but the data section has " + std::to_string(data_bytes) + " bytes");
    order.push_back(&t);
  }
  std::sort(order.begin(), order.end(), [](const GgufTensorInfo* a, const GgufTensorInfo* b) { return a->name < b->name; });
  for (size_t i = 1; i < order.size(); ++i)
    if (order[i]->name == order[i - 1]->name) r.fail("tensor " + quoted(order[i]->name) + " is given twice");
  std::sort(order.begin(), order.end(), [](const GgufTensorInfo* a, const GgufTensorInfo* b) { return a->offset < b->offset; });
  const GgufTensorInfo* prev = nullptr;
  for (const GgufTensorInfo* t : order) {
    if (t->bytes == 0) continue;
    if (prev && t->offset < prev->offset + prev->bytes)
      r.fail("tensors " + quoted(prev->name) + " and " + quoted(t->name) + " overlap in the data section");
    prev = t;
  }
  return h;
}

}  // namespace llmcost
