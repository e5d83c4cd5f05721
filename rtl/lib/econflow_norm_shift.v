// econflow primitive: one charge normalized by the module's power of two.
//
// x = round_half_even(q * 2**FRAC / 2**s), saturated to OUT_W bits: the charge divided by
// 2**s, expressed with FRAC fractional bits. MAXS is the largest shift the sum can produce.
`default_nettype none
module econflow_norm_shift #(
    parameter integer CB    = 8,
    parameter integer FRAC  = 0,
    parameter integer SW    = 4,
    parameter integer MAXS  = 13,
    parameter integer OUT_W = 8
) (
    input  wire [   CB-1:0] q,
    input  wire [   SW-1:0] s,
    output wire [OUT_W-1:0] x
);
  localparam integer BIG = CB + FRAC > MAXS ? CB + FRAC : MAXS;
  localparam integer T = (BIG > OUT_W ? BIG : OUT_W) + 1;
  localparam [T-1:0] MAX = {{(T - OUT_W) {1'b0}}, {OUT_W{1'b1}}};
  localparam [T-1:0] ONE = {{(T - 1) {1'b0}}, 1'b1};

  wire [T-1:0] scaled = {{(T - CB) {1'b0}}, q} << FRAC;
  wire [T-1:0] floor_v = scaled >> s;
  wire [T-1:0] rem = scaled & ~({T{1'b1}} << s);
  wire [T-1:0] half = (ONE << s) >> 1;
  wire up = (s != {SW{1'b0}}) && ((rem > half) || ((rem == half) && floor_v[0]));
  wire [T-1:0] rounded = floor_v + {{(T - 1) {1'b0}}, up};

  assign x = rounded > MAX ? {OUT_W{1'b1}} : rounded[OUT_W-1:0];
endmodule
`default_nettype wire
