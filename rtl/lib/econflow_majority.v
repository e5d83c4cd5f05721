// econflow primitive: bitwise two-out-of-three majority voter with a disagreement flag.
`default_nettype none
module econflow_majority #(
    parameter integer W = 1
) (
    input  wire [W-1:0] a,
    input  wire [W-1:0] b,
    input  wire [W-1:0] c,
    output wire [W-1:0] voted,
    output wire         mismatch
);
  assign voted = (a & b) | (a & c) | (b & c);
  assign mismatch = |((a ^ b) | (a ^ c));
endmodule
`default_nettype wire
