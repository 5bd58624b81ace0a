# Out-of-context logic synthesis of an hls4ml project's exported RTL, with timing and utilisation
# reports that kerasjet.hls.synthesis.parse_ooc_reports reads.
#
#   vivado -mode batch -source vivado/ooc_synth.tcl -tclargs <project_dir> <part> <clock_period_ns>
#
# Run after C synthesis (kerasjet convert --synth, or python vivado/run_flow.py).
set project_dir [lindex $argv 0]
set part [lindex $argv 1]
set period [lindex $argv 2]

set verilog [glob -nocomplain $project_dir/kerasjet_prj/solution1/syn/verilog/*.v]
if {[llength $verilog] == 0} {
    puts "ERROR: no synthesised Verilog under $project_dir/kerasjet_prj/solution1/syn/verilog (run C synthesis first)"
    exit 1
}
read_verilog $verilog
foreach dat [glob -nocomplain $project_dir/kerasjet_prj/solution1/syn/verilog/*.dat] {
    file copy -force $dat [pwd]
}
synth_design -top kerasjet -part $part -mode out_of_context
create_clock -name ap_clk -period $period [get_ports ap_clk]
report_utilization -file $project_dir/ooc_utilization.rpt
report_timing_summary -file $project_dir/ooc_timing.rpt
