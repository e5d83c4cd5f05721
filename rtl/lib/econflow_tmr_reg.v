// econflow primitive: a triplicated register for single-event-upset tolerance.
//
// Three copies feed a majority voter. When not loaded, every copy reloads the voted value, so
// an upset in one copy is outvoted at once and rewritten at the next clock edge. `mismatch` is
// high while the copies disagree. The `keep` attributes stop synthesis from merging the three
// copies, which have identical inputs.
`default_nettype none
module econflow_tmr_reg #(
    parameter integer W = 1,
    parameter [W-1:0] RESET = {W{1'b0}}
) (
    input  wire         clk,
    input  wire         rst_n,
    input  wire         en,
    input  wire [W-1:0] d,
    output wire [W-1:0] q,
    output wire         mismatch
);
  (* keep *) reg [W-1:0] copy_a;
  (* keep *) reg [W-1:0] copy_b;
  (* keep *) reg [W-1:0] copy_c;
  wire [W-1:0] next = en ? d : q;

  (* keep *)
  always @(posedge clk or negedge rst_n) begin
    if (!rst_n) copy_a <= RESET;
    else copy_a <= next;
  end

  (* keep *)
  always @(posedge clk or negedge rst_n) begin
    if (!rst_n) copy_b <= RESET;
    else copy_b <= next;
  end

  (* keep *)
  always @(posedge clk or negedge rst_n) begin
    if (!rst_n) copy_c <= RESET;
    else copy_c <= next;
  end

  econflow_majority #(
      .W(W)
  ) voter (
      .a(copy_a),
      .b(copy_b),
      .c(copy_c),
      .voted(q),
      .mismatch(mismatch)
  );
endmodule
`default_nettype wire
