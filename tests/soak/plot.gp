# The soak's samples as one PNG: gnuplot -e "csv='soak.csv'; png='soak.png'" plot.gp
set terminal pngcairo size 800,720 font ",8"
set output png
set datafile separator ","
set key left top
set xlabel "minutes"
set grid
set multiplot layout 4,1 title "chatglmd soak"
set ylabel "MiB"
plot csv using ($1/60):($2/1024) with lines title "RSS", \
     csv using ($1/60):($5/1024) with lines title "WAL"
set ylabel "count"
plot csv using ($1/60):3 with lines title "open files", \
     csv using ($1/60):4 with lines title "threads"
set ylabel "ms"
set logscale y
plot csv using ($1/60):7 with lines title "request p50", \
     csv using ($1/60):8 with lines title "request p99", \
     csv using ($1/60):9 with lines title "chat p50", \
     csv using ($1/60):10 with lines title "chat p99"
unset logscale y
set ylabel "per 10 s"
plot csv using ($1/60):6 with lines title "requests", \
     csv using ($1/60):11 with lines title "unexpected (cumulative)"
unset multiplot
