// safetensors reader (mmap, every header field bounds-checked), sharded index, writer, dtype conversions.
#include "llmcost/safetensors.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <unordered_map>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "llmcost/config_reader.h"  // quote_for_message
#include "llmcost/input_file.h"
#include "llmcost/value.h"

namespace llmcost {

namespace fs = std::filesystem;
using nlohmann::json;

// ---------------------------------------------------------------- conversions

float fp16_to_fp32(uint16_t h) {
  uint32_t sign = (h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t man = h & 0x3ffu;
  uint32_t u;
  if (exp == 0) {
    if (man == 0) {
      u = sign;
    } else {  // subnormal: normalize
      int e = -1;
      do {
        ++e;
        man <<= 1;
      } while ((man & 0x400u) == 0);
      u = sign | (static_cast<uint32_t>(127 - 15 - e) << 23) | ((man & 0x3ffu) << 13);
    }
  } else if (exp == 31) {
    u = sign | 0x7f800000u | (man << 13);
  } else {
    u = sign | ((exp + 127 - 15) << 23) | (man << 13);
  }
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

uint16_t fp32_to_fp16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  uint16_t sign = static_cast<uint16_t>((u >> 16) & 0x8000u);
  uint32_t a = u & 0x7fffffffu;
  if (a > 0x7f800000u) return sign | 0x7e00u;  // NaN
  if (a >= 0x477ff000u) return sign | 0x7c00u;  // rounds to >= 65520: inf
  if (a < 0x38800000u) {                        // below the smallest normal half (2^-14): subnormal
    // value = a_float; half subnormal unit = 2^-24. Round to nearest even of value / 2^-24.
    float af;
    std::memcpy(&af, &a, 4);
    float q = af * 16777216.0f;  // exact: scaling by a power of two
    float r = std::nearbyint(q);  // default rounding mode: nearest even
    return sign | static_cast<uint16_t>(r);
  }
  uint32_t mant = a + 0xfffu + ((a >> 13) & 1u);  // round to nearest even at bit 13
  uint32_t exp = (mant >> 23) - 127 + 15;
  return sign | static_cast<uint16_t>((exp << 10) | ((mant >> 13) & 0x3ffu));
}

float fp8_e4m3_to_fp32(uint8_t b) {
  int sign = (b & 0x80) ? -1 : 1;
  int exp = (b >> 3) & 0xf;
  int man = b & 0x7;
  if (exp == 15 && man == 7) return std::numeric_limits<float>::quiet_NaN();
  float v = exp == 0 ? std::ldexp(static_cast<float>(man) / 8.0f, -6)
                     : std::ldexp(1.0f + static_cast<float>(man) / 8.0f, exp - 7);
  return static_cast<float>(sign) * v;
}

uint8_t fp32_to_fp8_e4m3(float f) {
  if (std::isnan(f)) return 0x7f;
  uint8_t sign = std::signbit(f) ? 0x80 : 0x00;
  float a = std::fabs(f);
  if (a >= 448.0f) return sign | 0x7e;
  // Nearest of the 127 finite non-negative codes; ties go to the even code. Only the writer
  // (tests, fixtures) encodes, so clarity beats speed here.
  uint8_t best = 0;
  float best_d = std::numeric_limits<float>::infinity();
  for (int c = 0; c <= 0x7e; ++c) {
    float d = std::fabs(fp8_e4m3_to_fp32(static_cast<uint8_t>(c)) - a);
    if (d < best_d || (d == best_d && (c & 1) == 0)) {
      best = static_cast<uint8_t>(c);
      best_d = d;
    }
  }
  return sign | best;
}

float fp8_e5m2_to_fp32(uint8_t b) {
  int sign = (b & 0x80) ? -1 : 1;
  int exp = (b >> 2) & 0x1f;
  int man = b & 0x3;
  if (exp == 31) return man == 0 ? static_cast<float>(sign) * std::numeric_limits<float>::infinity()
                                 : std::numeric_limits<float>::quiet_NaN();
  float v = exp == 0 ? std::ldexp(static_cast<float>(man) / 4.0f, -14)
                     : std::ldexp(1.0f + static_cast<float>(man) / 4.0f, exp - 15);
  return static_cast<float>(sign) * v;
}

float fp8_e8m0_to_fp32(uint8_t b) {
  if (b == 0xff) return std::numeric_limits<float>::quiet_NaN();
  return std::ldexp(1.0f, static_cast<int>(b) - 127);
}

void bf16_to_fp32(const uint16_t* in, float* out, size_t n) {
  for (size_t i = 0; i < n; ++i) out[i] = bf16_to_fp32(in[i]);
}
void fp32_to_bf16(const float* in, uint16_t* out, size_t n) {
  for (size_t i = 0; i < n; ++i) out[i] = fp32_to_bf16(in[i]);
}

// ---------------------------------------------------------------- dtypes

namespace {

struct DtypeRow {
  TensorDtype d;
  const char* name;
  size_t bytes;
  bool is_float;
};
constexpr DtypeRow kDtypes[] = {
    {TensorDtype::F64, "F64", 8, true},        {TensorDtype::F32, "F32", 4, true},
    {TensorDtype::F16, "F16", 2, true},        {TensorDtype::BF16, "BF16", 2, true},
    {TensorDtype::F8_E4M3, "F8_E4M3", 1, true}, {TensorDtype::F8_E5M2, "F8_E5M2", 1, true},
    {TensorDtype::I64, "I64", 8, false},       {TensorDtype::I32, "I32", 4, false},
    {TensorDtype::I16, "I16", 2, false},       {TensorDtype::I8, "I8", 1, false},
    {TensorDtype::U8, "U8", 1, false},         {TensorDtype::BOOL, "BOOL", 1, false},
    {TensorDtype::U16, "U16", 2, false},       {TensorDtype::U32, "U32", 4, false},
    {TensorDtype::U64, "U64", 8, false},       {TensorDtype::F8_E8M0, "F8_E8M0", 1, true},
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

constexpr uint64_t kMaxHeaderBytes = 100ull << 20;  // the safetensors format's own limit (100 MB)
constexpr int kMaxHeaderDepth = 8;                   // a valid header nests 3 levels

}  // namespace

const char* tensor_dtype_name(TensorDtype d) { return row(d).name; }
size_t tensor_dtype_bytes(TensorDtype d) { return row(d).bytes; }
bool is_float_dtype(TensorDtype d) { return row(d).is_float; }

std::optional<TensorDtype> parse_tensor_dtype(const std::string& name) {
  for (const auto& r : kDtypes)
    if (name == r.name) return r.d;
  return std::nullopt;
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

// ---------------------------------------------------------------- SafetensorsFile

struct SafetensorsFile::Impl {
  std::string path;
  void* map = nullptr;
  size_t map_bytes = 0;
  const uint8_t* data_section = nullptr;  // first byte after the header
  std::vector<TensorInfo> tensors;
  std::unordered_map<std::string, size_t> index;
  std::map<std::string, std::string> metadata;

  ~Impl() {
    if (map) ::munmap(map, map_bytes);
  }
  [[noreturn]] void fail(const std::string& what) const { throw Error(path + ": " + what); }
  [[noreturn]] void fail_at(const std::string& pointer, const std::string& what) const {
    throw Error(path + ": header " + pointer + " " + what);
  }
};

SafetensorsFile::SafetensorsFile(const std::string& path) : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.path = path;
  uint64_t file_bytes = 0;
  int fd = open_regular_file(path, &file_bytes);  // refuses a FIFO or device without blocking
  if (file_bytes < 8) {
    ::close(fd);
    m.fail("truncated safetensors file: " + std::to_string(file_bytes) + " bytes, need at least 8 for the header length");
  }
  m.map_bytes = static_cast<size_t>(file_bytes);
  m.map = ::mmap(nullptr, m.map_bytes, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (m.map == MAP_FAILED) {
    m.map = nullptr;
    m.fail(std::string("cannot map file (") + std::strerror(errno) + ")");
  }
  const uint8_t* base = static_cast<const uint8_t*>(m.map);
  uint64_t header_bytes = 0;
  for (int i = 7; i >= 0; --i) header_bytes = (header_bytes << 8) | base[i];
  if (header_bytes > file_bytes - 8)
    m.fail("corrupt safetensors header: header length " + std::to_string(header_bytes) + " exceeds the file (" +
           std::to_string(file_bytes) + " bytes)");
  if (header_bytes > kMaxHeaderBytes)
    m.fail("corrupt safetensors header: header length " + std::to_string(header_bytes) + " exceeds the 100 MB limit");
  if (header_bytes < 2) m.fail("corrupt safetensors header: header length " + std::to_string(header_bytes) + " is too short for a JSON object");
  const char* hp = reinterpret_cast<const char*>(base + 8);
  // A valid header nests 3 deep ({name: {shape: [...]}}); stop at the first container past the
  // limit, before a header of nested '[' builds millions of empty arrays.
  struct TooDeep {};
  auto depth_guard = [](int depth, json::parse_event_t ev, json&) {
    if ((ev == json::parse_event_t::object_start || ev == json::parse_event_t::array_start) && depth >= kMaxHeaderDepth)
      throw TooDeep{};
    return true;
  };
  json h;
  try {
    h = json::parse(hp, hp + header_bytes, depth_guard, false);
  } catch (const TooDeep&) {
    m.fail("corrupt safetensors header: nested deeper than " + std::to_string(kMaxHeaderDepth) + " levels");
  }
  if (h.is_discarded()) m.fail("corrupt safetensors header: not valid JSON");
  if (!h.is_object()) m.fail("corrupt safetensors header: must be a JSON object");
  m.data_section = base + 8 + header_bytes;
  uint64_t data_bytes = file_bytes - 8 - header_bytes;

  for (auto it = h.begin(); it != h.end(); ++it) {
    const std::string& name = it.key();
    std::string ptr = "/" + ptr_token(name);
    const json& v = it.value();
    if (name == "__metadata__") {
      if (!v.is_object()) m.fail_at(ptr, "must be an object of strings");
      for (auto mt = v.begin(); mt != v.end(); ++mt) {
        if (!mt.value().is_string()) m.fail_at(ptr + "/" + ptr_token(mt.key()), "must be a string");
        m.metadata[mt.key()] = mt.value().get<std::string>();
      }
      continue;
    }
    if (!v.is_object()) m.fail_at(ptr, "must be an object {dtype, shape, data_offsets} (tensor '" + name + "')");
    TensorInfo t;
    t.name = name;
    t.file = path;
    auto dt = v.find("dtype");
    if (dt == v.end() || !dt->is_string()) m.fail_at(ptr + "/dtype", "must be a string (tensor '" + name + "')");
    auto parsed = parse_tensor_dtype(dt->get<std::string>());
    if (!parsed)
      m.fail_at(ptr + "/dtype", "\"" + dt->get<std::string>() + "\" is not a supported dtype (tensor '" + name +
                                    "'; expected F64, F32, F16, BF16, F8_E4M3, F8_E5M2, F8_E8M0, I64, I32, I16, I8, U64, U32, U16, U8 or BOOL)");
    t.dtype = *parsed;
    auto sh = v.find("shape");
    if (sh == v.end() || !sh->is_array()) m.fail_at(ptr + "/shape", "must be an array of non-negative integers (tensor '" + name + "')");
    // The element count saturates at kHuge, so the product cannot overflow.
    constexpr uint64_t kHuge = 1ull << 56;  // x 8 bytes still fits in 64 bits
    uint64_t numel = 1;
    for (size_t i = 0; i < sh->size(); ++i) {
      const json& d = (*sh)[i];
      if (!d.is_number_unsigned() || d.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        m.fail_at(ptr + "/shape/" + std::to_string(i), "must be a non-negative integer (tensor '" + name + "')");
      uint64_t dim = d.get<uint64_t>();
      t.shape.push_back(static_cast<int64_t>(dim));
      unsigned __int128 prod = static_cast<unsigned __int128>(numel) * dim;
      numel = prod > kHuge ? kHuge : static_cast<uint64_t>(prod);
    }
    auto off = v.find("data_offsets");
    if (off == v.end() || !off->is_array() || off->size() != 2 || !(*off)[0].is_number_unsigned() ||
        !(*off)[1].is_number_unsigned())
      m.fail_at(ptr + "/data_offsets", "must be [begin, end], two non-negative integers (tensor '" + name + "')");
    t.begin_bytes = (*off)[0].get<uint64_t>();
    t.end_bytes = (*off)[1].get<uint64_t>();
    if (t.begin_bytes > t.end_bytes)
      m.fail_at(ptr + "/data_offsets", "begin " + std::to_string(t.begin_bytes) + " > end " + std::to_string(t.end_bytes) +
                                           " (tensor '" + name + "')");
    if (t.end_bytes > data_bytes)
      m.fail("truncated: tensor '" + name + "' ends at data byte " + std::to_string(t.end_bytes) + " but the data section has " +
             std::to_string(data_bytes) + " bytes");
    uint64_t elem = tensor_dtype_bytes(t.dtype);
    uint64_t want = numel * elem;
    if (numel == kHuge || t.end_bytes - t.begin_bytes != want)
      m.fail_at(ptr + "/data_offsets", "spans " + std::to_string(t.end_bytes - t.begin_bytes) + " bytes, expected " +
                                           (numel == kHuge ? std::string("more than the data section")
                                                              : std::to_string(want)) +
                                           " (tensor '" + name + "', " + tensor_dtype_name(t.dtype) + " " +
                                           shape_string(t.shape) + ")");
    m.tensors.push_back(std::move(t));
  }
  // Byte ranges must not overlap (zero-size tensors overlap nothing).
  std::vector<const TensorInfo*> by_offset;
  for (const auto& t : m.tensors)
    if (t.size_bytes() > 0) by_offset.push_back(&t);
  std::sort(by_offset.begin(), by_offset.end(),
            [](const TensorInfo* a, const TensorInfo* b) { return a->begin_bytes < b->begin_bytes; });
  for (size_t i = 1; i < by_offset.size(); ++i)
    if (by_offset[i]->begin_bytes < by_offset[i - 1]->end_bytes)
      m.fail("corrupt safetensors header: tensors '" + by_offset[i - 1]->name + "' and '" + by_offset[i]->name +
             "' overlap in the data section");
  std::sort(m.tensors.begin(), m.tensors.end(), [](const TensorInfo& a, const TensorInfo& b) { return a.name < b.name; });
  for (size_t i = 0; i < m.tensors.size(); ++i) m.index.emplace(m.tensors[i].name, i);
}

SafetensorsFile::~SafetensorsFile() = default;
SafetensorsFile::SafetensorsFile(SafetensorsFile&&) noexcept = default;
SafetensorsFile& SafetensorsFile::operator=(SafetensorsFile&&) noexcept = default;

const std::string& SafetensorsFile::path() const { return impl_->path; }
const std::vector<TensorInfo>& SafetensorsFile::tensors() const { return impl_->tensors; }
const std::map<std::string, std::string>& SafetensorsFile::metadata() const { return impl_->metadata; }

const TensorInfo* SafetensorsFile::find(const std::string& name) const {
  auto it = impl_->index.find(name);
  return it == impl_->index.end() ? nullptr : &impl_->tensors[it->second];
}
const TensorInfo& SafetensorsFile::at(const std::string& name) const {
  const TensorInfo* t = find(name);
  if (!t) impl_->fail("tensor '" + name + "' not found");
  return *t;
}
const uint8_t* SafetensorsFile::data(const TensorInfo& t) const { return impl_->data_section + t.begin_bytes; }

// ---------------------------------------------------------------- SafetensorsCheckpoint

struct SafetensorsCheckpoint::Impl {
  std::string path;
  std::vector<SafetensorsFile> files;
  std::map<std::string, std::pair<size_t, const TensorInfo*>> tensors;  // name -> (file, info)

  [[noreturn]] void fail(const std::string& what) const { throw Error(path + ": " + what); }

  size_t add_file(const std::string& p) {
    for (size_t i = 0; i < files.size(); ++i)
      if (files[i].path() == p) return i;
    files.emplace_back(p);
    return files.size() - 1;
  }
  void add_all(size_t fi) {
    for (const auto& t : files[fi].tensors()) {
      auto [it, inserted] = tensors.emplace(t.name, std::make_pair(fi, &t));
      if (!inserted)
        fail("tensor '" + t.name + "' appears in both " + files[it->second.first].path() + " and " + files[fi].path());
    }
  }
  void load_index(const std::string& index_path) {
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
      if (escapes) throw Error(at + " must name a file inside " + (dir.empty() ? std::string(".") : dir.string()) +
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
      const TensorInfo* t = files[fi].find(name);
      if (!t) throw Error(at + " names " + quote_for_message(rel) + ", which has no tensor '" + name + "'");
      tensors.emplace(name, std::make_pair(fi, t));
    }
  }
};

SafetensorsCheckpoint::SafetensorsCheckpoint(const std::string& path) : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.path = path;
  std::error_code ec;
  fs::path p(path);
  auto ends_with = [](const std::string& s, const std::string& suf) {
    return s.size() >= suf.size() && s.compare(s.size() - suf.size(), suf.size(), suf) == 0;
  };
  // TensorInfo pointers stay valid when `files` grows: each SafetensorsFile owns its Impl on the heap.
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
      m.load_index(preferred.string());
    } else if (indexes.size() == 1) {
      m.load_index(indexes[0].string());
    } else if (indexes.size() > 1) {
      m.fail("several *.safetensors.index.json files and no model.safetensors.index.json; name the index to use");
    } else if (shards.empty()) {
      m.fail("no .safetensors files in this directory");
    } else {
      for (const auto& s : shards) m.add_all(m.add_file(s.string()));
    }
  } else if (fs::is_regular_file(p, ec)) {
    if (ends_with(path, ".json")) {
      m.load_index(path);
    } else {
      m.add_all(m.add_file(path));
    }
  } else if (std::string kind = non_regular_kind(path); !kind.empty()) {
    m.fail("cannot read checkpoint (it is " + kind + ", not a regular file)");
  } else {
    m.fail("no such safetensors file or directory");
  }
}

SafetensorsCheckpoint::~SafetensorsCheckpoint() = default;
SafetensorsCheckpoint::SafetensorsCheckpoint(SafetensorsCheckpoint&&) noexcept = default;
SafetensorsCheckpoint& SafetensorsCheckpoint::operator=(SafetensorsCheckpoint&&) noexcept = default;

const std::string& SafetensorsCheckpoint::path() const { return impl_->path; }
size_t SafetensorsCheckpoint::size() const { return impl_->tensors.size(); }
std::vector<std::string> SafetensorsCheckpoint::names() const {
  std::vector<std::string> out;
  out.reserve(impl_->tensors.size());
  for (const auto& [k, v] : impl_->tensors) out.push_back(k);
  return out;
}
const TensorInfo* SafetensorsCheckpoint::find(const std::string& name) const {
  auto it = impl_->tensors.find(name);
  return it == impl_->tensors.end() ? nullptr : it->second.second;
}
const TensorInfo& SafetensorsCheckpoint::at(const std::string& name) const {
  const TensorInfo* t = find(name);
  if (!t) impl_->fail("tensor '" + name + "' not found");
  return *t;
}
const uint8_t* SafetensorsCheckpoint::data(const TensorInfo& t) const {
  auto it = impl_->tensors.find(t.name);
  if (it == impl_->tensors.end() || it->second.second != &t) impl_->fail("tensor '" + t.name + "' is not from this checkpoint");
  return impl_->files[it->second.first].data(t);
}

namespace {

const TensorInfo& checked(const SafetensorsCheckpoint& ck, const std::string& name, const std::vector<int64_t>& shape) {
  const TensorInfo& t = ck.at(name);
  if (t.shape != shape)
    throw Error(t.file + ": tensor '" + name + "' has shape " + shape_string(t.shape) + ", expected " + shape_string(shape));
  if (!is_float_dtype(t.dtype))
    throw Error(t.file + ": tensor '" + name + "' has dtype " + tensor_dtype_name(t.dtype) +
                ", expected a float dtype (F32, F16, BF16, F8_E4M3, F8_E5M2, F8_E8M0, F64)");
  return t;
}

template <typename T>
T load_le(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));  // x86/ARM little-endian; the data may be unaligned
  return v;
}

// Converts n elements of a float dtype to fp32 with one loop per dtype (the dtype switch stays
// out of the inner loop). p may be unaligned.
void convert_to_f32(TensorDtype d, const uint8_t* p, float* out, size_t n) {
  switch (d) {
    case TensorDtype::F32: std::memcpy(out, p, n * 4); return;
    case TensorDtype::BF16: for (size_t i = 0; i < n; ++i) out[i] = bf16_to_fp32(load_le<uint16_t>(p + 2 * i)); return;
    case TensorDtype::F16: for (size_t i = 0; i < n; ++i) out[i] = fp16_to_fp32(load_le<uint16_t>(p + 2 * i)); return;
    case TensorDtype::F8_E4M3: for (size_t i = 0; i < n; ++i) out[i] = fp8_e4m3_to_fp32(p[i]); return;
    case TensorDtype::F8_E5M2: for (size_t i = 0; i < n; ++i) out[i] = fp8_e5m2_to_fp32(p[i]); return;
    case TensorDtype::F8_E8M0: for (size_t i = 0; i < n; ++i) out[i] = fp8_e8m0_to_fp32(p[i]); return;
    case TensorDtype::F64: for (size_t i = 0; i < n; ++i) out[i] = static_cast<float>(load_le<double>(p + 8 * i)); return;
    default: return;  // unreachable: checked() refuses non-float dtypes
  }
}

}  // namespace

void SafetensorsCheckpoint::read_f32(const std::string& name, const std::vector<int64_t>& expected_shape, float* out) const {
  const TensorInfo& t = checked(*this, name, expected_shape);
  if (t.numel() == 0) return;  // out may be null for an empty tensor
  convert_to_f32(t.dtype, data(t), out, static_cast<size_t>(t.numel()));
}

void SafetensorsCheckpoint::read_bf16(const std::string& name, const std::vector<int64_t>& expected_shape, uint16_t* out) const {
  const TensorInfo& t = checked(*this, name, expected_shape);
  const uint8_t* p = data(t);
  size_t n = static_cast<size_t>(t.numel());
  if (n == 0) return;  // out may be null for an empty tensor
  if (t.dtype == TensorDtype::BF16) {
    std::memcpy(out, p, n * 2);
    return;
  }
  // Other dtypes go through fp32 in blocks (fp32 holds F16/F8 exactly, F64 is rounded twice).
  constexpr size_t kBlock = 4096;
  float tmp[kBlock];
  size_t eb = tensor_dtype_bytes(t.dtype);
  for (size_t i = 0; i < n; i += kBlock) {
    size_t m = std::min(kBlock, n - i);
    convert_to_f32(t.dtype, p + i * eb, tmp, m);
    fp32_to_bf16(tmp, out + i, m);
  }
}

std::vector<float> SafetensorsCheckpoint::load_f32(const std::string& name, const std::vector<int64_t>& expected_shape) const {
  const TensorInfo& t = checked(*this, name, expected_shape);
  std::vector<float> out(static_cast<size_t>(t.numel()));
  read_f32(name, expected_shape, out.data());
  return out;
}

std::vector<uint16_t> SafetensorsCheckpoint::load_bf16(const std::string& name, const std::vector<int64_t>& expected_shape) const {
  const TensorInfo& t = checked(*this, name, expected_shape);
  std::vector<uint16_t> out(static_cast<size_t>(t.numel()));
  read_bf16(name, expected_shape, out.data());
  return out;
}

bool has_safetensors(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return false;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    std::string n = e.path().filename().string();
    auto ends = [&](const std::string& suf) { return n.size() >= suf.size() && n.compare(n.size() - suf.size(), suf.size(), suf) == 0; };
    if (ends(".safetensors") || ends(".safetensors.index.json")) return true;
  }
  return false;
}

// ---------------------------------------------------------------- writing

TensorData tensor_from_f32(const std::string& name, TensorDtype dtype, const std::vector<int64_t>& shape,
                           const std::vector<float>& values) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  if (static_cast<int64_t>(values.size()) != n)
    throw Error("tensor '" + name + "': " + std::to_string(values.size()) + " values for shape " + shape_string(shape) +
                " (" + std::to_string(n) + " elements)");
  TensorData t{name, dtype, shape, {}};
  size_t eb = tensor_dtype_bytes(dtype);
  t.bytes.resize(values.size() * eb);
  uint8_t* p = t.bytes.data();
  for (size_t i = 0; i < values.size(); ++i) {
    float v = values[i];
    switch (dtype) {
      case TensorDtype::F32: std::memcpy(p + 4 * i, &v, 4); break;
      case TensorDtype::F64: { double d = v; std::memcpy(p + 8 * i, &d, 8); break; }
      case TensorDtype::BF16: { uint16_t h = fp32_to_bf16(v); std::memcpy(p + 2 * i, &h, 2); break; }
      case TensorDtype::F16: { uint16_t h = fp32_to_fp16(v); std::memcpy(p + 2 * i, &h, 2); break; }
      case TensorDtype::F8_E4M3: p[i] = fp32_to_fp8_e4m3(v); break;
      case TensorDtype::I32: { int32_t x = static_cast<int32_t>(v); std::memcpy(p + 4 * i, &x, 4); break; }
      case TensorDtype::I64: { int64_t x = static_cast<int64_t>(v); std::memcpy(p + 8 * i, &x, 8); break; }
      default:
        throw Error("tensor '" + name + "': cannot build " + tensor_dtype_name(dtype) + " from fp32 values");
    }
  }
  return t;
}

namespace {

void write_atomic(const std::string& path, const std::string& head, const std::vector<const std::vector<uint8_t>*>& chunks) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  auto fail = [&](const std::string& why) {
    std::error_code ec;
    fs::remove(tmp, ec);
    throw Error(path + ": cannot write file (" + why + ")");
  };
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) fail(std::strerror(errno));
    out.write(head.data(), static_cast<std::streamsize>(head.size()));
    for (const auto* c : chunks) out.write(reinterpret_cast<const char*>(c->data()), static_cast<std::streamsize>(c->size()));
    out.flush();
    if (!out) fail(std::strerror(errno));
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) fail(ec.message());
}

}  // namespace

void write_safetensors(const std::string& path, const std::vector<TensorData>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  json h = json::object();
  if (!metadata.empty()) h["__metadata__"] = metadata;
  uint64_t offset = 0;
  std::set<std::string> seen;
  std::vector<const std::vector<uint8_t>*> chunks;
  for (const auto& t : tensors) {
    if (t.name == "__metadata__" || !seen.insert(t.name).second)
      throw Error(path + ": tensor name '" + t.name + "' is reserved or given twice");
    uint64_t n = 1;
    for (int64_t d : t.shape) {
      if (d < 0) throw Error(path + ": tensor '" + t.name + "' has a negative dimension in " + shape_string(t.shape));
      n *= static_cast<uint64_t>(d);
    }
    if (n * tensor_dtype_bytes(t.dtype) != t.bytes.size())
      throw Error(path + ": tensor '" + t.name + "' has " + std::to_string(t.bytes.size()) + " bytes, expected " +
                  std::to_string(n * tensor_dtype_bytes(t.dtype)) + " for " + tensor_dtype_name(t.dtype) + " " +
                  shape_string(t.shape));
    h[t.name] = {{"dtype", tensor_dtype_name(t.dtype)}, {"shape", t.shape}, {"data_offsets", {offset, offset + t.bytes.size()}}};
    offset += t.bytes.size();
    chunks.push_back(&t.bytes);
  }
  std::string header = h.dump();
  while (header.size() % 8 != 0) header += ' ';
  std::string head(8, '\0');
  uint64_t len = header.size();
  for (int i = 0; i < 8; ++i) head[i] = static_cast<char>((len >> (8 * i)) & 0xff);
  write_atomic(path, head + header, chunks);
}

void write_safetensors_index(const std::string& index_path, const std::map<std::string, std::string>& weight_map,
                             uint64_t total_size_bytes) {
  json j = {{"metadata", {{"total_size", total_size_bytes}}}, {"weight_map", weight_map}};
  write_atomic(index_path, j.dump(2) + "\n", {});
}

}  // namespace llmcost
