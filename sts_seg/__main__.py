from sts_seg.cli import main

main()
