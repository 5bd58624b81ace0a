// kerasjet nanoPELICAN layers for hls4ml (Vivado/Vitis HLS, io_parallel).
//
// Arrays are flat, row-major, batch dimension dropped:
//   momenta p[N*4] (E, px, py, pz) in units of the model's momentum scale, or trigger words
//   w[N*3] (pT, eta, phi integer codes); mask m[N] (0/1);
//   pair arrays channels-first x[(c*N + i)*N + j].
// Sums are normalised by N̄ = 2^log2_nbar (a shift). Every accumulator type is chosen by the
// Python side wide enough to hold its sum exactly; the only rounding happens when a result is
// cast to its declared output type (res_T), as in the quantized Keras layers.
//
// Ternary weights (CONFIG_T::ternary): the weight arrays hold codes {-1, 0, +1}; products become
// additions and subtractions, scaled once by the power of two 2^ternary_shift at the end (a shift).

#ifndef NNET_KERASJET_H_
#define NNET_KERASJET_H_

#include "nnet_common.h"

namespace nnet {

// w * x, or for ternary codes the signed copy of x (no multiplier); the 2^shift scale is applied
// by the caller once per sum.
template <class acc_T, bool ternary, class w_T, class x_T> inline acc_T kj_product(w_T w, x_T x) {
    #pragma HLS INLINE
    if (ternary) {
        return w == 0 ? acc_T(0) : (w > 0 ? acc_T(x) : acc_T(-acc_T(x)));
    }
    return acc_T(w * x);
}

// 2^shift as scale_T (exact: the Python side sizes scale_T to hold it)
template <class scale_T, int shift> inline scale_T kj_power_of_two() {
    #pragma HLS INLINE
    scale_T one = 1;
    return shift >= 0 ? scale_T(one << (shift >= 0 ? shift : 0)) : scale_T(one >> (shift < 0 ? -shift : 0));
}

template <class acc_T, bool ternary, class scale_T> inline acc_T kj_scale(acc_T x, scale_T scale) {
    #pragma HLS INLINE
    if (ternary) {
        return acc_T(x * scale);
    }
    return x;
}

// ---------------------------------------------------------------- LorentzDot
struct lorentz_dot_config {
    static const unsigned n_particles = 8;
    static const unsigned reuse_factor = 1;
    typedef ap_fixed<32, 16> accum_t;
};

// d_ij = p_i . p_j (metric +,-,-,-), zero where i or j is padding; d is symmetric, so only the
// upper triangle is computed and mirrored.
template <class data_T, class mask_T, class res_T, typename CONFIG_T>
void lorentz_dot(data_T p[CONFIG_T::n_particles * 4], mask_T mask[CONFIG_T::n_particles],
                 res_T d[CONFIG_T::n_particles * CONFIG_T::n_particles]) {
    #pragma HLS PIPELINE II = CONFIG_T::reuse_factor
    const unsigned N = CONFIG_T::n_particles;
    for (unsigned i = 0; i < N; i++) {
        #pragma HLS UNROLL
        for (unsigned j = i; j < N; j++) {
            #pragma HLS UNROLL
            typename CONFIG_T::accum_t acc = p[i * 4] * p[j * 4];
            acc -= p[i * 4 + 1] * p[j * 4 + 1];
            acc -= p[i * 4 + 2] * p[j * 4 + 2];
            acc -= p[i * 4 + 3] * p[j * 4 + 3];
            res_T value = (mask[i] != 0 && mask[j] != 0) ? res_T(acc) : res_T(0);
            d[i * N + j] = value;
            d[j * N + i] = value;
        }
    }
}

// ---------------------------------------------------------------- WordLorentzDot
// The Lorentz products of massless candidates given as trigger words w[N*3] = (pT, eta, phi)
// integer codes per candidate (kerasjet.layers.quantized.QWordLorentzDot):
//   p_i = pT code * 2^-pt_shift (the momentum unit is the pT step times 2^pt_shift: a shift),
//   P_ij = product_t(p_i p_j) (truncated, saturated),
//   d_ij = res_T(P_ij * (eta_table[|d_eta|] + phi_table[|d_phi|])), the code differences clipped
//   to the tables' last entry, d_phi wrapped into [-phi_period/2, phi_period/2) first;
// zero where i or j is padding. Two products per pair; d is symmetric.
struct word_lorentz_dot_config {
    static const unsigned n_particles = 8;
    static const unsigned table_size = 512;
    static const int phi_period = 1440; // phi codes per 2 pi
    static const unsigned phi_wraps = 2; // periods a phi code difference can lie away from [-period/2, period/2)
    static const unsigned pt_shift = 9;
    static const unsigned reuse_factor = 1;
    typedef ap_uint<14> pt_code_t;
    typedef ap_int<12> eta_code_t;
    typedef ap_int<11> phi_code_t;
    typedef ap_ufixed<23, 14> pt_t;                  // the pT code with pt_shift fractional bits to shift into
    typedef ap_ufixed<20, 6, AP_TRN, AP_SAT> product_t;
    typedef ap_uint<9> index_t;
    typedef ap_ufixed<18, 3> table_t;
};

// a phi code difference wrapped into [-period/2, period/2), as floormod(d + period/2, period) - period/2
template <typename CONFIG_T> inline ap_int<CONFIG_T::phi_code_t::width + 2> kj_wrap_phi(ap_int<CONFIG_T::phi_code_t::width + 1> delta) {
    #pragma HLS INLINE
    const int half = CONFIG_T::phi_period / 2;
    ap_int<CONFIG_T::phi_code_t::width + 2> x = delta;
    for (unsigned k = 0; k < CONFIG_T::phi_wraps; k++) {
        #pragma HLS UNROLL
        if (x >= half) x -= CONFIG_T::phi_period;
        if (x < -half) x += CONFIG_T::phi_period;
    }
    return x;
}

// |d_phi| wrapped, clipped to the table
template <typename CONFIG_T> inline typename CONFIG_T::index_t kj_phi_index(ap_int<CONFIG_T::phi_code_t::width + 1> delta) {
    #pragma HLS INLINE
    ap_int<CONFIG_T::phi_code_t::width + 2> x = kj_wrap_phi<CONFIG_T>(delta);
    ap_uint<CONFIG_T::phi_code_t::width + 2> a = x < 0 ? ap_int<CONFIG_T::phi_code_t::width + 2>(-x) : x;
    return a > CONFIG_T::table_size - 1 ? typename CONFIG_T::index_t(CONFIG_T::table_size - 1) : typename CONFIG_T::index_t(a);
}

template <typename CONFIG_T> inline typename CONFIG_T::index_t kj_eta_index(ap_int<CONFIG_T::eta_code_t::width + 1> delta) {
    #pragma HLS INLINE
    ap_uint<CONFIG_T::eta_code_t::width + 1> a = delta < 0 ? ap_int<CONFIG_T::eta_code_t::width + 1>(-delta) : delta;
    return a > CONFIG_T::table_size - 1 ? typename CONFIG_T::index_t(CONFIG_T::table_size - 1) : typename CONFIG_T::index_t(a);
}

template <class data_T, class mask_T, class res_T, typename CONFIG_T>
void word_lorentz_dot(data_T w[CONFIG_T::n_particles * 3], mask_T mask[CONFIG_T::n_particles],
                      res_T d[CONFIG_T::n_particles * CONFIG_T::n_particles],
                      typename CONFIG_T::table_t eta_table[CONFIG_T::table_size],
                      typename CONFIG_T::table_t phi_table[CONFIG_T::table_size]) {
    #pragma HLS PIPELINE II = CONFIG_T::reuse_factor
    const unsigned N = CONFIG_T::n_particles;
    typename CONFIG_T::pt_t pt[N];
    typename CONFIG_T::eta_code_t eta[N];
    typename CONFIG_T::phi_code_t phi[N];
    #pragma HLS ARRAY_PARTITION variable = pt complete
    #pragma HLS ARRAY_PARTITION variable = eta complete
    #pragma HLS ARRAY_PARTITION variable = phi complete
    for (unsigned i = 0; i < N; i++) {
        #pragma HLS UNROLL
        typename CONFIG_T::pt_code_t code = w[i * 3];
        pt[i] = code;
        pt[i] = pt[i] >> CONFIG_T::pt_shift;
        eta[i] = w[i * 3 + 1];
        phi[i] = w[i * 3 + 2];
    }
    for (unsigned i = 0; i < N; i++) {
        #pragma HLS UNROLL
        for (unsigned j = i; j < N; j++) {
            #pragma HLS UNROLL
            typename CONFIG_T::product_t p = pt[i] * pt[j];
            typename CONFIG_T::index_t a = kj_eta_index<CONFIG_T>(eta[i] - eta[j]);
            typename CONFIG_T::index_t b = kj_phi_index<CONFIG_T>(phi[i] - phi[j]);
            res_T value = (mask[i] != 0 && mask[j] != 0) ? res_T(p * (eta_table[a] + phi_table[b])) : res_T(0);
            d[i * N + j] = value;
            d[j * N + i] = value;
        }
    }
}

// ---------------------------------------------------------------- WordFeatures
// The constituent peers' features from trigger words w[N*3] (kerasjet.models.mlp.WordConstituentFeatures,
// kerasjet.data.words.RelativeCoordinates): unique keys pT code * 2^key_bits + (N - 1 - slot)
// (padding's pT code 0); with CONFIG_T::sort the slots in descending key order (Batcher's odd-even
// merge sort, N a power of two), the leading slot then 0, else the slot of the largest key;
// S = sum of pT codes, R = reciprocal[min(S >> sum_shift, reciprocal_size - 1)];
// per slot (r = ratio_t(pT * R), d_eta, wrapped d_phi in units of 2^angle_shift codes[, 1]),
// zero on padding; out[slot * F + feature].
struct word_features_config {
    static const unsigned n_particles = 8;
    static const unsigned n_features = 3; // per slot: 3, or 4 with the constant 1
    static const bool sort = false;
    static const unsigned key_bits = 3;
    static const unsigned sum_shift = 4;
    static const unsigned reciprocal_size = 1024;
    static const unsigned angle_shift = 8;
    static const int phi_period = 1440;
    static const unsigned phi_wraps = 2;
    static const unsigned reuse_factor = 1;
    typedef ap_uint<14> pt_code_t;
    typedef ap_int<12> eta_code_t;
    typedef ap_int<11> phi_code_t;
    typedef ap_uint<17> key_t;  // pT code and slot bits; also holds the pT sum
    typedef ap_ufixed<13, 1, AP_TRN, AP_SAT> ratio_t;
    typedef ap_ufixed<25, 1> table_t;
};

template <typename CONFIG_T> inline void kj_compare_exchange(typename CONFIG_T::key_t key[CONFIG_T::n_particles],
                                                             typename CONFIG_T::eta_code_t eta[CONFIG_T::n_particles],
                                                             typename CONFIG_T::phi_code_t phi[CONFIG_T::n_particles],
                                                             bool real[CONFIG_T::n_particles], unsigned a, unsigned b) {
    #pragma HLS INLINE
    if (key[a] < key[b]) {
        typename CONFIG_T::key_t k = key[a];
        key[a] = key[b];
        key[b] = k;
        typename CONFIG_T::eta_code_t e = eta[a];
        eta[a] = eta[b];
        eta[b] = e;
        typename CONFIG_T::phi_code_t f = phi[a];
        phi[a] = phi[b];
        phi[b] = f;
        bool r = real[a];
        real[a] = real[b];
        real[b] = r;
    }
}

template <class data_T, class mask_T, class res_T, typename CONFIG_T>
void word_features(data_T w[CONFIG_T::n_particles * 3], mask_T mask[CONFIG_T::n_particles],
                   res_T out[CONFIG_T::n_particles * CONFIG_T::n_features],
                   typename CONFIG_T::table_t reciprocal[CONFIG_T::reciprocal_size]) {
    #pragma HLS PIPELINE II = CONFIG_T::reuse_factor
    const unsigned N = CONFIG_T::n_particles, F = CONFIG_T::n_features, B = CONFIG_T::key_bits;
    typename CONFIG_T::key_t key[N];
    typename CONFIG_T::eta_code_t eta[N];
    typename CONFIG_T::phi_code_t phi[N];
    bool real[N];
    #pragma HLS ARRAY_PARTITION variable = key complete
    #pragma HLS ARRAY_PARTITION variable = eta complete
    #pragma HLS ARRAY_PARTITION variable = phi complete
    #pragma HLS ARRAY_PARTITION variable = real complete
    for (unsigned i = 0; i < N; i++) {
        #pragma HLS UNROLL
        typename CONFIG_T::pt_code_t code = w[i * 3];
        real[i] = mask[i] != 0;
        key[i] = real[i] ? code : typename CONFIG_T::pt_code_t(0);
        key[i] = (key[i] << B) + (N - 1 - i);
        eta[i] = w[i * 3 + 1];
        phi[i] = w[i * 3 + 2];
    }
    unsigned lead = 0;
    if (CONFIG_T::sort) {
        for (unsigned p = 1; p < N; p <<= 1) {
            for (unsigned k = p; k >= 1; k >>= 1) {
                for (unsigned j = k % p; j + k < N; j += 2 * k) {
                    for (unsigned i = 0; i < k && i + j + k < N; i++) {
                        if ((i + j) / (2 * p) == (i + j + k) / (2 * p))
                            kj_compare_exchange<CONFIG_T>(key, eta, phi, real, i + j, i + j + k);
                    }
                }
            }
        }
    } else {
        for (unsigned i = 1; i < N; i++) {
            #pragma HLS UNROLL
            if (key[i] > key[lead]) lead = i;
        }
    }
    typename CONFIG_T::key_t total = 0;
    for (unsigned i = 0; i < N; i++) {
        #pragma HLS UNROLL
        total += key[i] >> B;
    }
    typename CONFIG_T::key_t index = total >> CONFIG_T::sum_shift;
    if (index > CONFIG_T::reciprocal_size - 1) index = CONFIG_T::reciprocal_size - 1;
    typename CONFIG_T::table_t r = reciprocal[index];
    for (unsigned i = 0; i < N; i++) {
        #pragma HLS UNROLL
        typename CONFIG_T::pt_code_t pt = key[i] >> B;
        typename CONFIG_T::ratio_t ratio = pt * r;
        ap_fixed<CONFIG_T::eta_code_t::width + 1 + CONFIG_T::angle_shift, CONFIG_T::eta_code_t::width + 1> deta = eta[i] - eta[lead];
        ap_fixed<CONFIG_T::phi_code_t::width + 2 + CONFIG_T::angle_shift, CONFIG_T::phi_code_t::width + 2> dphi =
            kj_wrap_phi<CONFIG_T>(phi[i] - phi[lead]);
        deta = deta >> CONFIG_T::angle_shift;
        dphi = dphi >> CONFIG_T::angle_shift;
        out[i * F] = real[i] ? res_T(ratio) : res_T(0);
        out[i * F + 1] = real[i] ? res_T(deta) : res_T(0);
        out[i * F + 2] = real[i] ? res_T(dphi) : res_T(0);
        if (F == 4) out[i * F + 3] = real[i] ? res_T(1) : res_T(0);
    }
}

// ---------------------------------------------------------------- multiplicity
// r^k for k = 0..degree with r = n / N̄ (exact: N̄ is a power of two).
template <class mask_T, class r_T, unsigned N, unsigned log2_nbar, unsigned degree>
void kj_multiplicity_powers(mask_T mask[N], r_T powers[degree + 1]) {
    #pragma HLS INLINE
    ap_uint<16> n = 0;
    for (unsigned i = 0; i < N; i++) {
        #pragma HLS UNROLL
        n += (mask[i] != 0) ? 1 : 0;
    }
    ap_ufixed<16 + log2_nbar, 16> n_fixed = n;
    r_T r = n_fixed >> log2_nbar;
    powers[0] = 1;
    for (unsigned k = 1; k <= degree; k++) {
        #pragma HLS UNROLL
        powers[k] = r_T(powers[k - 1] * r);
    }
}

// bias_h(r) = Σ_k b[k*H + h] r^k
template <class acc_T, class b_T, class r_T, unsigned H, unsigned degree>
inline acc_T kj_polynomial_bias(b_T b[(degree + 1) * H], r_T powers[degree + 1], unsigned h) {
    #pragma HLS INLINE
    acc_T out = 0;
    for (unsigned k = 0; k <= degree; k++) {
        #pragma HLS UNROLL
        out += b[k * H + h] * powers[k];
    }
    return out;
}

// ---------------------------------------------------------------- LinEq2to2
struct lineq2to2_config {
    static const unsigned n_particles = 8;
    static const unsigned n_in = 1;   // input channels
    static const unsigned n_out = 2;  // output channels
    static const unsigned log2_nbar = 6;
    static const unsigned degree = 0; // multiplicity-bias degree
    static const bool full_basis = false;
    static const bool ternary = false;
    static const unsigned reuse_factor = 1;
    typedef ap_fixed<48, 24> accum_t;
    typedef ap_fixed<48, 24> sum_t;
    typedef ap_ufixed<32, 16> r_t;
    typedef ap_fixed<16, 6> weight_t;
    typedef ap_fixed<16, 6> bias_t;
    typedef ap_ufixed<1, 1> scale_t;
    static const int ternary_shift = 0;
};

// Basis element order (kernel index b), as kerasjet.layers.equivariant:
//   nano: 0 x_ij, 1 δ_ij s_i, 2 s_j, 3 s_i, 4 t, 5 δ_ij t        (s = column sums / N̄, t = Σ s / N̄)
//   full: 0 x_ij, 1 x_ji, 2 δ_ij x_ii, 3 x_ii, 4 x_jj, 5 δ_ij r_i, 6 δ_ij c_i, 7 r_i, 8 r_j, 9 c_i, 10 c_j,
//         11 δ_ij tr, 12 tr, 13 δ_ij T, 14 T     (r row sums / N̄, c column sums / N̄, tr trace / N̄, T total / N̄²)
template <class data_T, class mask_T, class res_T, typename CONFIG_T>
void lineq2to2(data_T x[CONFIG_T::n_in * CONFIG_T::n_particles * CONFIG_T::n_particles], mask_T mask[CONFIG_T::n_particles],
               res_T y[CONFIG_T::n_out * CONFIG_T::n_particles * CONFIG_T::n_particles],
               typename CONFIG_T::weight_t w[(CONFIG_T::full_basis ? 15 : 6) * CONFIG_T::n_in * CONFIG_T::n_out],
               typename CONFIG_T::bias_t b[2 * (CONFIG_T::degree + 1) * CONFIG_T::n_out]) {
    #pragma HLS PIPELINE II = CONFIG_T::reuse_factor
    const unsigned N = CONFIG_T::n_particles, C = CONFIG_T::n_in, H = CONFIG_T::n_out;
    typedef typename CONFIG_T::node_t acc_t;
    typedef typename CONFIG_T::accum_t part_t;
    typedef typename CONFIG_T::sum_t sum_t;
    const bool T3 = CONFIG_T::ternary;
    const typename CONFIG_T::scale_t scale = kj_power_of_two<typename CONFIG_T::scale_t, CONFIG_T::ternary_shift>();

    typename CONFIG_T::r_t powers[CONFIG_T::degree + 1];
    kj_multiplicity_powers<mask_T, typename CONFIG_T::r_t, CONFIG_T::n_particles, CONFIG_T::log2_nbar, CONFIG_T::degree>(mask, powers);

    // one pass of sums per input channel; d is symmetric for the nano basis, so column sums serve
    // as row sums there
    sum_t col[C][N], row[C][N], diag[C][N], trace[C], total[C];
    #pragma HLS ARRAY_PARTITION variable = col complete dim = 0
    #pragma HLS ARRAY_PARTITION variable = row complete dim = 0
    #pragma HLS ARRAY_PARTITION variable = diag complete dim = 0
    for (unsigned c = 0; c < C; c++) {
        #pragma HLS UNROLL
        trace[c] = 0;
        total[c] = 0;
        for (unsigned j = 0; j < N; j++) {
            #pragma HLS UNROLL
            sum_t cs = 0, rs = 0;
            for (unsigned i = 0; i < N; i++) {
                #pragma HLS UNROLL
                cs += x[(c * N + i) * N + j];
                if (CONFIG_T::full_basis) rs += x[(c * N + j) * N + i];
            }
            col[c][j] = cs >> CONFIG_T::log2_nbar;
            row[c][j] = rs >> CONFIG_T::log2_nbar;
            diag[c][j] = x[(c * N + j) * N + j];
            trace[c] += diag[c][j];
            total[c] += col[c][j];
        }
        trace[c] = trace[c] >> CONFIG_T::log2_nbar;
        total[c] = total[c] >> CONFIG_T::log2_nbar;
    }

    for (unsigned h = 0; h < H; h++) {
        #pragma HLS UNROLL
        acc_t bias = kj_polynomial_bias<acc_t, typename CONFIG_T::bias_t, typename CONFIG_T::r_t, CONFIG_T::n_out, CONFIG_T::degree>(b, powers, h);
        // the diagonal bias's coefficients follow the bias's in b (one weight array, as hls4ml's tools expect)
        acc_t diag_bias = kj_polynomial_bias<acc_t, typename CONFIG_T::bias_t, typename CONFIG_T::r_t, CONFIG_T::n_out, CONFIG_T::degree>(
            b + (CONFIG_T::degree + 1) * CONFIG_T::n_out, powers, h);
        // partial results: y_ij = pair_ij + row_term[i] + col_term[j] (+ diag_term[i] when i == j),
        // each cast to part_t (the declared accumulator type) before the N² additions
        part_t row_term[N], col_term[N], diag_term[N];
        #pragma HLS ARRAY_PARTITION variable = row_term complete
        #pragma HLS ARRAY_PARTITION variable = col_term complete
        #pragma HLS ARRAY_PARTITION variable = diag_term complete
        for (unsigned i = 0; i < N; i++) {
            #pragma HLS UNROLL
            acc_t rt = 0, ct = 0, dt = 0;
            for (unsigned c = 0; c < C; c++) {
                #pragma HLS UNROLL
#define KJ_W(e) w[((e) * C + c) * H + h]
                if (!CONFIG_T::full_basis) {
                    dt += kj_product<acc_t, T3>(KJ_W(1), col[c][i]) + kj_product<acc_t, T3>(KJ_W(5), total[c]);
                    ct += kj_product<acc_t, T3>(KJ_W(2), col[c][i]);
                    rt += kj_product<acc_t, T3>(KJ_W(3), col[c][i]) + kj_product<acc_t, T3>(KJ_W(4), total[c]);
                } else {
                    dt += kj_product<acc_t, T3>(KJ_W(2), diag[c][i]) + kj_product<acc_t, T3>(KJ_W(5), row[c][i]) +
                          kj_product<acc_t, T3>(KJ_W(6), col[c][i]) + kj_product<acc_t, T3>(KJ_W(11), trace[c]) +
                          kj_product<acc_t, T3>(KJ_W(13), total[c]);
                    rt += kj_product<acc_t, T3>(KJ_W(3), diag[c][i]) + kj_product<acc_t, T3>(KJ_W(7), row[c][i]) +
                          kj_product<acc_t, T3>(KJ_W(9), col[c][i]) + kj_product<acc_t, T3>(KJ_W(12), trace[c]) +
                          kj_product<acc_t, T3>(KJ_W(14), total[c]);
                    ct += kj_product<acc_t, T3>(KJ_W(4), diag[c][i]) + kj_product<acc_t, T3>(KJ_W(8), row[c][i]) +
                          kj_product<acc_t, T3>(KJ_W(10), col[c][i]);
                }
            }
            row_term[i] = part_t(acc_t(kj_scale<acc_t, T3>(rt, scale) + bias));
            col_term[i] = part_t(kj_scale<acc_t, T3>(ct, scale));
            diag_term[i] = part_t(acc_t(kj_scale<acc_t, T3>(dt, scale) + diag_bias));
        }
        for (unsigned i = 0; i < N; i++) {
            #pragma HLS UNROLL
            for (unsigned j = 0; j < N; j++) {
                #pragma HLS UNROLL
                acc_t pair = 0;
                for (unsigned c = 0; c < C; c++) {
                    #pragma HLS UNROLL
                    pair += kj_product<acc_t, T3>(KJ_W(0), x[(c * N + i) * N + j]);
                    if (CONFIG_T::full_basis) pair += kj_product<acc_t, T3>(KJ_W(1), x[(c * N + j) * N + i]);
                }
#undef KJ_W
                typename CONFIG_T::value_t value = part_t(kj_scale<acc_t, T3>(pair, scale));
                value += row_term[i];
                value += col_term[j];
                if (i == j) value += diag_term[i];
                y[(h * N + i) * N + j] = (mask[i] != 0 && mask[j] != 0) ? res_T(value) : res_T(0);
            }
        }
    }
}

// ---------------------------------------------------------------- LinEq2to0
struct lineq2to0_config {
    static const unsigned n_particles = 8;
    static const unsigned n_in = 2;
    static const unsigned n_out = 1;
    static const unsigned log2_nbar = 6;
    static const unsigned degree = 0;
    static const bool ternary = false;
    static const unsigned reuse_factor = 1;
    typedef ap_fixed<48, 24> accum_t;
    typedef ap_fixed<48, 24> sum_t;
    typedef ap_ufixed<32, 16> r_t;
    typedef ap_fixed<16, 6> weight_t;
    typedef ap_fixed<16, 6> bias_t;
    typedef ap_ufixed<1, 1> scale_t;
    static const int ternary_shift = 0;
};

// w_h = Σ_c K[0,c,h] Σ_ij x_cij / N̄² + K[1,c,h] Σ_i x_cii / N̄ + bias_h(r)
template <class data_T, class mask_T, class res_T, typename CONFIG_T>
void lineq2to0(data_T x[CONFIG_T::n_in * CONFIG_T::n_particles * CONFIG_T::n_particles], mask_T mask[CONFIG_T::n_particles],
               res_T res[CONFIG_T::n_out], typename CONFIG_T::weight_t w[2 * CONFIG_T::n_in * CONFIG_T::n_out],
               typename CONFIG_T::bias_t b[(CONFIG_T::degree + 1) * CONFIG_T::n_out]) {
    #pragma HLS PIPELINE II = CONFIG_T::reuse_factor
    const unsigned N = CONFIG_T::n_particles, C = CONFIG_T::n_in, H = CONFIG_T::n_out;
    typedef typename CONFIG_T::accum_t acc_t;
    typedef typename CONFIG_T::sum_t sum_t;
    const bool T3 = CONFIG_T::ternary;
    const typename CONFIG_T::scale_t scale = kj_power_of_two<typename CONFIG_T::scale_t, CONFIG_T::ternary_shift>();

    typename CONFIG_T::r_t powers[CONFIG_T::degree + 1];
    kj_multiplicity_powers<mask_T, typename CONFIG_T::r_t, CONFIG_T::n_particles, CONFIG_T::log2_nbar, CONFIG_T::degree>(mask, powers);

    sum_t total[C], trace[C];
    for (unsigned c = 0; c < C; c++) {
        #pragma HLS UNROLL
        sum_t sum = 0, tr = 0;
        for (unsigned i = 0; i < N; i++) {
            #pragma HLS UNROLL
            tr += x[(c * N + i) * N + i];
            for (unsigned j = 0; j < N; j++) {
                #pragma HLS UNROLL
                sum += x[(c * N + i) * N + j];
            }
        }
        total[c] = sum >> (2 * CONFIG_T::log2_nbar);
        trace[c] = tr >> CONFIG_T::log2_nbar;
    }
    for (unsigned h = 0; h < H; h++) {
        #pragma HLS UNROLL
        acc_t out = 0;
        for (unsigned c = 0; c < C; c++) {
            #pragma HLS UNROLL
            out += kj_product<acc_t, T3>(w[(0 * C + c) * H + h], total[c]) + kj_product<acc_t, T3>(w[(1 * C + c) * H + h], trace[c]);
        }
        out = kj_scale<acc_t, T3>(out, scale) +
              kj_polynomial_bias<acc_t, typename CONFIG_T::bias_t, typename CONFIG_T::r_t, CONFIG_T::n_out, CONFIG_T::degree>(b, powers, h);
        res[h] = res_T(out);
    }
}

} // namespace nnet

#endif
