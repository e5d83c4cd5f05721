// econflow primitive: floor(log2(v)), the position of the leading one; 0 for v = 0 or 1.
`default_nettype none
module econflow_log2floor #(
    parameter integer W  = 8,
    parameter integer SW = 3
) (
    input  wire [ W-1:0] v,
    output reg  [SW-1:0] s
);
  integer i;
  always @* begin
    s = {SW{1'b0}};
    for (i = 0; i < W; i = i + 1) begin
      if (v[i]) s = i[SW-1:0];
    end
  end
endmodule
`default_nettype wire
