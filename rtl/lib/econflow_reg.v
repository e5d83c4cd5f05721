// econflow primitive: an unprotected register with enable and asynchronous reset.
`default_nettype none
module econflow_reg #(
    parameter integer W = 1,
    parameter [W-1:0] RESET = 0
) (
    input  wire         clk,
    input  wire         rst_n,
    input  wire         en,
    input  wire [W-1:0] d,
    output reg  [W-1:0] q
);
  always @(posedge clk or negedge rst_n) begin
    if (!rst_n) q <= RESET;
    else if (en) q <= d;
  end
endmodule
`default_nettype wire
