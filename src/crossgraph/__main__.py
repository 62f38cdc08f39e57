from crossgraph.cli import main

main()
