// Direct 2-D convolution for small layers (stride 1, no dilation, one group):
// the kernels that im2col + GEMM serves badly when there are few channels
// (LeNet's 1->6 and 6->16 with 5x5 kernels: 6- and 16-row products that fill
// part of a 14-row GEMM tile and repack both operands for every image).
// Vectorised along output columns: a row of outputs for several output
// channels lives in registers while the kernel slides over the input.
//
// Included once per instruction set by conv_direct.cc, with DC_ATTR (the
// target attribute), DC_W (floats per vector) and the vector operations
// defined. Sums run in an order fixed by the shapes: the same bits on any
// number of threads.

namespace {

constexpr long kW = DC_W;

// Output channels computed together (their weights broadcast, the input
// vectors loaded once for all of them).
constexpr int kFwdBlock = 6;
constexpr int kBwdBlock = 4;

// Pads each [H, W] plane of x ([planes][H][W]) into xp ([planes][Hp][Wp]),
// pH rows and pW columns of zeros before, zeros after.
inline void pad_planes(const float* x, long planes, long H, long W, long pH, long pW, long Hp, long Wp, float* xp) {
  std::memset(xp, 0, static_cast<size_t>(planes * Hp * Wp) * sizeof(float));
  for (long p = 0; p < planes; ++p)
    for (long h = 0; h < H; ++h) std::memcpy(xp + (p * Hp + h + pH) * Wp + pW, x + (p * H + h) * W, W * sizeof(float));
}

// out[o][oh][0:OW] = bias[o] + sum_{c,kh,kw} w[o][c][kh][kw] * xp[c][oh+kh][ow+kw] for
// one image. wpk holds the weights per block of kFwdBlock output channels,
// [block][C][KH][KW][kFwdBlock], zero for channels past O.
template <int NV>
DC_ATTR void fwd_image(const float* xp, long C, long Hp, long Wp, long KH, long KW, const float* wpk, const float* bias, long O,
                       long OH, long OW, float* out) {
  alignas(64) float row[NV * kW];
  const long blocks = (O + kFwdBlock - 1) / kFwdBlock;
  for (long blk = 0; blk < blocks; ++blk) {
    const long o0 = blk * kFwdBlock;
    const long valid = std::min<long>(kFwdBlock, O - o0);
    const float* wb = wpk + blk * C * KH * KW * kFwdBlock;
    for (long oh = 0; oh < OH; ++oh) {
      DC_VEC acc[kFwdBlock][NV];
      for (int b = 0; b < kFwdBlock; ++b) {
        const float bv = bias && b < valid ? bias[o0 + b] : 0.0f;
        for (int v = 0; v < NV; ++v) acc[b][v] = DC_SET1(bv);
      }
      const float* wk = wb;
      for (long c = 0; c < C; ++c) {
        for (long kh = 0; kh < KH; ++kh) {
          const float* xr = xp + (c * Hp + oh + kh) * Wp;
          for (long kw = 0; kw < KW; ++kw, wk += kFwdBlock) {
            DC_VEC xv[NV];
            for (int v = 0; v < NV; ++v) xv[v] = DC_LOAD(xr + kw + v * kW);
            for (int b = 0; b < kFwdBlock; ++b) {
              const DC_VEC wv = DC_SET1(wk[b]);
              for (int v = 0; v < NV; ++v) acc[b][v] = DC_FMA(wv, xv[v], acc[b][v]);
            }
          }
        }
      }
      for (long b = 0; b < valid; ++b) {
        for (int v = 0; v < NV; ++v) DC_STORE(row + v * kW, acc[b][v]);
        std::memcpy(out + ((o0 + b) * OH + oh) * OW, row, OW * sizeof(float));
      }
    }
  }
}

// Packs w [O][C][KH][KW] (flipped and with O and C swapped when `transposeFlip`,
// for the input gradient) into [block][C'][KH][KW][kFwdBlock].
inline void pack_fwd_weights(const float* w, long O, long C, long KH, long KW, bool transposeFlip, float* wpk) {
  // The packed layer's output channels and input channels.
  const long Oo = transposeFlip ? C : O, Ci = transposeFlip ? O : C;
  const long blocks = (Oo + kFwdBlock - 1) / kFwdBlock;
  std::memset(wpk, 0, static_cast<size_t>(blocks * Ci * KH * KW * kFwdBlock) * sizeof(float));
  for (long o = 0; o < Oo; ++o)
    for (long c = 0; c < Ci; ++c)
      for (long kh = 0; kh < KH; ++kh)
        for (long kw = 0; kw < KW; ++kw) {
          const float v = transposeFlip ? w[((c * C + o) * KH + (KH - 1 - kh)) * KW + (KW - 1 - kw)] : w[((o * C + c) * KH + kh) * KW + kw];
          wpk[((((o / kFwdBlock) * Ci + c) * KH + kh) * KW + kw) * kFwdBlock + o % kFwdBlock] = v;
        }
}

template <int NV>
struct FwdJob {
  const float* xp;  // [N][C][Hp][Wp]
  const float* wpk;
  const float* bias;
  float* out;
  long N, C, Hp, Wp, KH, KW, O, OH, OW;
};

template <int NV>
DC_ATTR void fwd_task(void* ctx, int part, int parts) {
  const FwdJob<NV>& j = *static_cast<const FwdJob<NV>*>(ctx);
  const long n0 = split_point(j.N, part, parts, 1), n1 = split_point(j.N, part + 1, parts, 1);
  for (long n = n0; n < n1; ++n)
    fwd_image<NV>(j.xp + n * j.C * j.Hp * j.Wp, j.C, j.Hp, j.Wp, j.KH, j.KW, j.wpk, j.bias, j.O, j.OH, j.OW, j.out + n * j.O * j.OH * j.OW);
}

// A convolution of padded planes xp [N][C][Hp][Wp] with packed weights into
// out [N][O][OH][OW]; NV vectors cover a row of OW outputs.
template <int NV>
DC_ATTR void run_fwd(const float* xp, const float* wpk, const float* bias, float* out, long N, long C, long Hp, long Wp, long KH,
                     long KW, long O, long OH, long OW) {
  FwdJob<NV> job{xp, wpk, bias, out, N, C, Hp, Wp, KH, KW, O, OH, OW};
  const int t = num_threads();
  const long parts = std::min<long>(N, static_cast<long>(t) * kPartsPerThread);
  if (t <= 1 || parts <= 1) fwd_task<NV>(&job, 0, 1);
  else parallel_parts(static_cast<int>(parts), &fwd_task<NV>, &job);
}

DC_ATTR void dispatch_fwd(long NV, const float* xp, const float* wpk, const float* bias, float* out, long N, long C, long Hp, long Wp,
                          long KH, long KW, long O, long OH, long OW) {
  switch (NV) {
    case 1: return run_fwd<1>(xp, wpk, bias, out, N, C, Hp, Wp, KH, KW, O, OH, OW);
    case 2: return run_fwd<2>(xp, wpk, bias, out, N, C, Hp, Wp, KH, KW, O, OH, OW);
    case 3: return run_fwd<3>(xp, wpk, bias, out, N, C, Hp, Wp, KH, KW, O, OH, OW);
    default: return run_fwd<4>(xp, wpk, bias, out, N, C, Hp, Wp, KH, KW, O, OH, OW);
  }
}

// ---- forward, output channels across the lanes ---------------------------------
// For layers whose output rows are short against a vector (LeNet's second
// layer: 10 columns in 16 lanes, 55% of each multiply used), a vector holds
// OV*kW output channels of one output cell instead of a row of cells:
// acc[t][v] for the TW cells (oh, ow0 + t) and channels v*kW.. of the block.
// Each input value is broadcast once per tap and meets a vector of weights
// ([C][KH][KW][O] packed, so the O weights of a tap are contiguous). Every
// output is still bias + the taps in (c, kh, kw) order, one multiply-add each:
// the same operations in the same order as fwd_image, so the same bits.

inline void pack_channel_weights(const float* w, long O, long C, long KH, long KW, float* wpk) {
  for (long o = 0; o < O; ++o)
    for (long c = 0; c < C; ++c)
      for (long kh = 0; kh < KH; ++kh)
        for (long kw = 0; kw < KW; ++kw) wpk[((c * KH + kh) * KW + kw) * O + o] = w[((o * C + c) * KH + kh) * KW + kw];
}

template <int OV, int TW>
DC_ATTR void channels_tile(const float* xp, long C, long Hp, long Wp, long KH, long KW, const float* wpk, const float* bias, long O,
                           long OH, long OW, long oh, long ow0, long o0, float* out) {
  DC_VEC acc[TW][OV];
  for (int v = 0; v < OV; ++v) {
    const DC_VEC b = bias ? DC_LOAD(bias + o0 + v * kW) : DC_SET1(0.0f);
    for (int t = 0; t < TW; ++t) acc[t][v] = b;
  }
  for (long c = 0; c < C; ++c) {
    for (long kh = 0; kh < KH; ++kh) {
      const float* xr = xp + (c * Hp + oh + kh) * Wp + ow0;
      const float* wk = wpk + (c * KH + kh) * KW * O + o0;
      for (long kw = 0; kw < KW; ++kw, wk += O) {
        DC_VEC wv[OV];
        for (int v = 0; v < OV; ++v) wv[v] = DC_LOAD(wk + v * kW);
        for (int t = 0; t < TW; ++t) {
          const DC_VEC xv = DC_SET1(xr[t + kw]);
          for (int v = 0; v < OV; ++v) acc[t][v] = DC_FMA(wv[v], xv, acc[t][v]);
        }
      }
    }
  }
  alignas(64) float cell[OV * kW];
  for (int t = 0; t < TW; ++t) {
    for (int v = 0; v < OV; ++v) DC_STORE(cell + v * kW, acc[t][v]);
    for (long o = 0; o < OV * kW; ++o) out[((o0 + o) * OH + oh) * OW + ow0 + t] = cell[o];
  }
}

// The widest tile whose accumulators, weights and broadcast value fit in the registers.
constexpr int channels_tile_width(int OV) { return ((kW == 16 ? 30 : 14) - OV) / OV > 12 ? 12 : ((kW == 16 ? 30 : 14) - OV) / OV; }

template <int OV, int TW>
DC_ATTR void channels_row_rest(long rest, const float* xp, long C, long Hp, long Wp, long KH, long KW, const float* wpk, const float* bias,
                               long O, long OH, long OW, long oh, long ow0, long o0, float* out) {
  if constexpr (TW > 0) {
    if (rest == TW) return channels_tile<OV, TW>(xp, C, Hp, Wp, KH, KW, wpk, bias, O, OH, OW, oh, ow0, o0, out);
    channels_row_rest<OV, TW - 1>(rest, xp, C, Hp, Wp, KH, KW, wpk, bias, O, OH, OW, oh, ow0, o0, out);
  }
}

template <int OV>
struct ChannelsJob {
  const float* xp;  // [N][C][Hp][Wp]
  const float* wpk;
  const float* bias;
  float* out;
  long N, C, Hp, Wp, KH, KW, O, OH, OW;
};

template <int OV>
DC_ATTR void channels_task(void* ctx, int part, int parts) {
  constexpr int TW = channels_tile_width(OV);
  const ChannelsJob<OV>& j = *static_cast<const ChannelsJob<OV>*>(ctx);
  const long n0 = split_point(j.N, part, parts, 1), n1 = split_point(j.N, part + 1, parts, 1);
  for (long n = n0; n < n1; ++n) {
    const float* xn = j.xp + n * j.C * j.Hp * j.Wp;
    float* on = j.out + n * j.O * j.OH * j.OW;
    for (long o0 = 0; o0 < j.O; o0 += OV * kW)
      for (long oh = 0; oh < j.OH; ++oh) {
        long ow0 = 0;
        for (; ow0 + TW <= j.OW; ow0 += TW) channels_tile<OV, TW>(xn, j.C, j.Hp, j.Wp, j.KH, j.KW, j.wpk, j.bias, j.O, j.OH, j.OW, oh, ow0, o0, on);
        if (ow0 < j.OW)
          channels_row_rest<OV, TW - 1>(j.OW - ow0, xn, j.C, j.Hp, j.Wp, j.KH, j.KW, j.wpk, j.bias, j.O, j.OH, j.OW, oh, ow0, o0, on);
      }
  }
}

template <int OV>
DC_ATTR void run_channels(const float* xp, const float* wpk, const float* bias, float* out, long N, long C, long Hp, long Wp, long KH, long KW,
                          long O, long OH, long OW) {
  ChannelsJob<OV> job{xp, wpk, bias, out, N, C, Hp, Wp, KH, KW, O, OH, OW};
  const int t = num_threads();
  const long parts = std::min<long>(N, static_cast<long>(t) * kPartsPerThread);
  if (t <= 1 || parts <= 1) channels_task<OV>(&job, 0, 1);
  else parallel_parts(static_cast<int>(parts), &channels_task<OV>, &job);
}

// Lanes the row kernel (fwd_image) uses, of those it multiplies: short rows and partial channel blocks waste the rest.
inline double row_kernel_use(long OW, long O) {
  const long NV = (OW + kW - 1) / kW, blocks = (O + kFwdBlock - 1) / kFwdBlock;
  return static_cast<double>(OW) / (NV * kW) * static_cast<double>(O) / (blocks * kFwdBlock);
}

// ---- weight gradient ----------------------------------------------------------
// gw[o][c][kh][kw] = sum_{n,oh,ow} dy[n][o][oh][ow] * xp[n][c][oh+kh][ow+kw].
// One task per (block of kBwdBlock output channels, c, kh): KW x kBwdBlock
// vector accumulators over every (n, oh), then a horizontal sum per vector
// column block, added in order.

template <int KW>
struct BwdWJob {
  const float* xp;   // [N][C][Hp][Wp]
  const float* dyp;  // [N][Opad][OH][NV*kW], zeros past OW and past O
  float* gw;         // [O][C][KH][KW]
  long N, C, Hp, Wp, KH, O, Opad, OH, NV;
};

template <int KW>
DC_ATTR void bwdw_task(void* ctx, int task, int) {
  const BwdWJob<KW>& j = *static_cast<const BwdWJob<KW>*>(ctx);
  const long kh = task % j.KH;
  const long c = (task / j.KH) % j.C;
  const long o0 = (task / (j.KH * j.C)) * kBwdBlock;
  const long Wd = j.NV * kW;
  float res[kBwdBlock][KW] = {};
  for (long v = 0; v < j.NV; ++v) {
    DC_VEC acc[kBwdBlock][KW];
    for (int b = 0; b < kBwdBlock; ++b)
      for (int kw = 0; kw < KW; ++kw) acc[b][kw] = DC_SET1(0.0f);
    for (long n = 0; n < j.N; ++n) {
      const float* dyn = j.dyp + (n * j.Opad + o0) * j.OH * Wd + v * kW;
      const float* xn = j.xp + ((n * j.C + c) * j.Hp + kh) * j.Wp + v * kW;
      for (long oh = 0; oh < j.OH; ++oh) {
        DC_VEC d[kBwdBlock];
        for (int b = 0; b < kBwdBlock; ++b) d[b] = DC_LOAD(dyn + (b * j.OH + oh) * Wd);
        const float* xr = xn + oh * j.Wp;
        for (int kw = 0; kw < KW; ++kw) {
          const DC_VEC xv = DC_LOAD(xr + kw);
          for (int b = 0; b < kBwdBlock; ++b) acc[b][kw] = DC_FMA(d[b], xv, acc[b][kw]);
        }
      }
    }
    for (int b = 0; b < kBwdBlock; ++b)
      for (int kw = 0; kw < KW; ++kw) res[b][kw] += DC_HSUM(acc[b][kw]);
  }
  for (long b = 0; b < kBwdBlock && o0 + b < j.O; ++b)
    for (int kw = 0; kw < KW; ++kw) j.gw[(((o0 + b) * j.C + c) * j.KH + kh) * KW + kw] = res[b][kw];
}

template <int KW>
DC_ATTR void run_bwdw(const float* xp, const float* dyp, float* gw, long N, long C, long Hp, long Wp, long KH, long O, long Opad, long OH,
                      long NV) {
  BwdWJob<KW> job{xp, dyp, gw, N, C, Hp, Wp, KH, O, Opad, OH, NV};
  const long tasks = (Opad / kBwdBlock) * C * KH;
  if (num_threads() <= 1) {
    for (long t = 0; t < tasks; ++t) bwdw_task<KW>(&job, static_cast<int>(t), static_cast<int>(tasks));
  } else {
    parallel_parts(static_cast<int>(tasks), &bwdw_task<KW>, &job);
  }
}

// ---- weight gradient, output channels across the lanes -------------------------
// gw[o][c][kh][kw] for short rows (the row kernel above multiplies zeros past
// OW) when the output channels fill exactly one vector (LeNet-5's second layer
// on AVX-512): a vector holds the O gradients of one tap, the output gradient
// is read channels-last (dyt [N][OH][OW][O]) so the O values of a cell are one
// vector, and each input value is broadcast against it. One task per (c, kh),
// its KW accumulators summed over (n, oh, ow) in that order.

template <int KW>
struct BwdWChannelsJob {
  const float* xp;   // [N][C][Hp][Wp]
  const float* dyt;  // [N][OH][OW][O], O == kW
  float* gw;         // [O][C][KH][KW]
  long N, C, Hp, Wp, KH, OH, OW;
};

template <int KW>
DC_ATTR void bwdw_channels_task(void* ctx, int task, int) {
  const BwdWChannelsJob<KW>& j = *static_cast<const BwdWChannelsJob<KW>*>(ctx);
  const long kh = task % j.KH, c = task / j.KH;
  DC_VEC acc[KW];
  for (int kw = 0; kw < KW; ++kw) acc[kw] = DC_SET1(0.0f);
  for (long n = 0; n < j.N; ++n) {
    for (long oh = 0; oh < j.OH; ++oh) {
      const float* xr = j.xp + ((n * j.C + c) * j.Hp + oh + kh) * j.Wp;
      const float* dr = j.dyt + (n * j.OH + oh) * j.OW * kW;
      for (long ow = 0; ow < j.OW; ++ow) {
        const DC_VEC d = DC_LOAD(dr + ow * kW);
        for (int kw = 0; kw < KW; ++kw) acc[kw] = DC_FMA(d, DC_SET1(xr[ow + kw]), acc[kw]);
      }
    }
  }
  alignas(64) float lane[kW];
  for (int kw = 0; kw < KW; ++kw) {
    DC_STORE(lane, acc[kw]);
    for (long o = 0; o < kW; ++o) j.gw[((o * j.C + c) * j.KH + kh) * KW + kw] = lane[o];
  }
}

template <int KW>
DC_ATTR void run_bwdw_channels(const float* xp, const float* dyt, float* gw, long N, long C, long Hp, long Wp, long KH, long OH, long OW) {
  BwdWChannelsJob<KW> job{xp, dyt, gw, N, C, Hp, Wp, KH, OH, OW};
  const long tasks = C * KH;
  if (num_threads() <= 1) {
    for (long t = 0; t < tasks; ++t) bwdw_channels_task<KW>(&job, static_cast<int>(t), static_cast<int>(tasks));
  } else {
    parallel_parts(static_cast<int>(tasks), &bwdw_channels_task<KW>, &job);
  }
}

}  // namespace

// The three passes; each returns false when the shape is not one it handles.

DC_ATTR bool direct_forward(const float* x, const float* w, const float* bias, float* out, const Conv2dShape& s) {
  // Output channels across the lanes where they fill whole vectors and the rows would waste a quarter or more.
  const long OV = s.O % kW == 0 ? s.O / kW : 0;
  if ((OV == 1 || OV == 2 || (kW == 4 && OV == 4)) && row_kernel_use(s.OW, s.O) < 0.75) {
    const long Hp = s.H + 2 * s.pH, Wp = s.W + 2 * s.pW;
    float* xp = static_cast<float*>(scratch(SCRATCH_COL, static_cast<size_t>(s.N * s.C * Hp * Wp) * sizeof(float)));
    pad_planes(x, s.N * s.C, s.H, s.W, s.pH, s.pW, Hp, Wp, xp);
    float* wpk = static_cast<float*>(scratch(SCRATCH_PACK_A, static_cast<size_t>(s.C * s.KH * s.KW * s.O) * sizeof(float)));
    pack_channel_weights(w, s.O, s.C, s.KH, s.KW, wpk);
    if (OV == 1) run_channels<1>(xp, wpk, bias, out, s.N, s.C, Hp, Wp, s.KH, s.KW, s.O, s.OH, s.OW);
    else if (OV == 2) run_channels<2>(xp, wpk, bias, out, s.N, s.C, Hp, Wp, s.KH, s.KW, s.O, s.OH, s.OW);
    else run_channels<4>(xp, wpk, bias, out, s.N, s.C, Hp, Wp, s.KH, s.KW, s.O, s.OH, s.OW);
    return true;
  }
  const long NV = (s.OW + kW - 1) / kW;
  const long Hp = s.H + 2 * s.pH, Wp = NV * kW + s.KW - 1;
  float* xp = static_cast<float*>(scratch(SCRATCH_COL, static_cast<size_t>(s.N * s.C * Hp * Wp) * sizeof(float)));
  pad_planes(x, s.N * s.C, s.H, s.W, s.pH, s.pW, Hp, Wp, xp);
  const long blocks = (s.O + kFwdBlock - 1) / kFwdBlock;
  float* wpk = static_cast<float*>(scratch(SCRATCH_PACK_A, static_cast<size_t>(blocks * s.C * s.KH * s.KW * kFwdBlock) * sizeof(float)));
  pack_fwd_weights(w, s.O, s.C, s.KH, s.KW, false, wpk);
  dispatch_fwd(NV, xp, wpk, bias, out, s.N, s.C, Hp, Wp, s.KH, s.KW, s.O, s.OH, s.OW);
  return true;
}

// The input gradient is the forward convolution of the output gradient,
// padded by KH-1-pH, with the kernels flipped and the channel roles swapped.
DC_ATTR bool direct_backward_input(const float* dy, const float* w, float* dx, const Conv2dShape& s) {
  const long qH = s.KH - 1 - s.pH, qW = s.KW - 1 - s.pW;
  const long NV = (s.W + kW - 1) / kW;
  const long Hp = s.OH + 2 * qH, Wp = NV * kW + s.KW - 1;
  float* dyp = static_cast<float*>(scratch(SCRATCH_COL, static_cast<size_t>(s.N * s.O * Hp * Wp) * sizeof(float)));
  pad_planes(dy, s.N * s.O, s.OH, s.OW, qH, qW, Hp, Wp, dyp);
  const long blocks = (s.C + kFwdBlock - 1) / kFwdBlock;
  float* wpk = static_cast<float*>(scratch(SCRATCH_PACK_A, static_cast<size_t>(blocks * s.O * s.KH * s.KW * kFwdBlock) * sizeof(float)));
  pack_fwd_weights(w, s.O, s.C, s.KH, s.KW, true, wpk);
  dispatch_fwd(NV, dyp, wpk, nullptr, dx, s.N, s.O, Hp, Wp, s.KH, s.KW, s.C, s.H, s.W);
  return true;
}

DC_ATTR bool direct_backward_weight(const float* x, const float* dy, float* gw, const Conv2dShape& s) {
  if (s.KW != 3 && s.KW != 5) return false;
  const long NV = (s.OW + kW - 1) / kW;
  // Output channels across the lanes where they fill one vector and a quarter or more of each row vector would be zeros.
  if (s.O == kW && static_cast<double>(s.OW) / (NV * kW) < 0.75) {
    const long Hp = s.H + 2 * s.pH, Wp = s.W + 2 * s.pW;
    float* xp = static_cast<float*>(scratch(SCRATCH_COL, static_cast<size_t>(s.N * s.C * Hp * Wp) * sizeof(float)));
    pad_planes(x, s.N * s.C, s.H, s.W, s.pH, s.pW, Hp, Wp, xp);
    float* dyt = static_cast<float*>(scratch(SCRATCH_TMP, static_cast<size_t>(s.N * s.O * s.OH * s.OW) * sizeof(float)));
    const long cells = s.OH * s.OW;
    for (long n = 0; n < s.N; ++n)
      for (long o = 0; o < s.O; ++o)
        for (long i = 0; i < cells; ++i) dyt[(n * cells + i) * s.O + o] = dy[(n * s.O + o) * cells + i];
    if (s.KW == 3) run_bwdw_channels<3>(xp, dyt, gw, s.N, s.C, Hp, Wp, s.KH, s.OH, s.OW);
    else run_bwdw_channels<5>(xp, dyt, gw, s.N, s.C, Hp, Wp, s.KH, s.OH, s.OW);
    return true;
  }
  const long Hp = s.H + 2 * s.pH, Wp = NV * kW + s.KW - 1;
  const long Opad = (s.O + kBwdBlock - 1) / kBwdBlock * kBwdBlock, Wd = NV * kW;
  float* xp = static_cast<float*>(scratch(SCRATCH_COL, static_cast<size_t>(s.N * s.C * Hp * Wp) * sizeof(float)));
  pad_planes(x, s.N * s.C, s.H, s.W, s.pH, s.pW, Hp, Wp, xp);
  // dy rows widened to whole vectors with zeros, and zero planes for the channels past O.
  float* dyp = static_cast<float*>(scratch(SCRATCH_TMP, static_cast<size_t>(s.N * Opad * s.OH * Wd) * sizeof(float)));
  std::memset(dyp, 0, static_cast<size_t>(s.N * Opad * s.OH * Wd) * sizeof(float));
  for (long n = 0; n < s.N; ++n)
    for (long o = 0; o < s.O; ++o)
      for (long oh = 0; oh < s.OH; ++oh)
        std::memcpy(dyp + ((n * Opad + o) * s.OH + oh) * Wd, dy + ((n * s.O + o) * s.OH + oh) * s.OW, s.OW * sizeof(float));
  if (s.KW == 3) run_bwdw<3>(xp, dyp, gw, s.N, s.C, Hp, Wp, s.KH, s.O, Opad, s.OH, NV);
  else run_bwdw<5>(xp, dyp, gw, s.N, s.C, Hp, Wp, s.KH, s.O, Opad, s.OH, NV);
  return true;
}
