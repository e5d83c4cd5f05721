// econflow primitive: ReLU and re-quantization of a signed accumulator to an unsigned format.
//
// Drops RSHIFT fractional bits rounding half to even (QKeras' tf.round) or appends LSHIFT
// zero bits, then saturates to OUT_W bits. Negative accumulators give 0, which equals
// rounding first and clamping after.
`default_nettype none
module econflow_requant #(
    parameter integer IN_W   = 8,
    parameter integer RSHIFT = 0,
    parameter integer LSHIFT = 0,
    parameter integer OUT_W  = 8
) (
    input  wire [ IN_W-1:0] acc,
    output wire [OUT_W-1:0] q
);
  localparam integer MAG_W = IN_W - 1 + LSHIFT;
  localparam integer T = (MAG_W > OUT_W ? MAG_W : OUT_W) + 1;
  localparam [T-1:0] MAX = {{(T - OUT_W) {1'b0}}, {OUT_W{1'b1}}};
  wire [T-1:0] mag;

  generate
    if (RSHIFT > 0) begin : g_round
      wire [IN_W-RSHIFT-2:0] floor_v = acc[IN_W-2:RSHIFT];
      wire guard = acc[RSHIFT-1];
      wire sticky;
      if (RSHIFT > 1) begin : g_sticky
        assign sticky = |acc[RSHIFT-2:0];
      end else begin : g_no_sticky
        assign sticky = 1'b0;
      end
      wire up = guard & (sticky | floor_v[0]);
      assign mag = {{(T - (IN_W - RSHIFT - 1)) {1'b0}}, floor_v} + {{(T - 1) {1'b0}}, up};
    end else begin : g_shift
      assign mag = {{(T - (IN_W - 1)) {1'b0}}, acc[IN_W-2:0]} << LSHIFT;
    end
  endgenerate

  assign q = acc[IN_W-1] ? {OUT_W{1'b0}} : (mag > MAX ? {OUT_W{1'b1}} : mag[OUT_W-1:0]);
endmodule
`default_nettype wire
