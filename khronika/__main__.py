from khronika.cli.main import main

main()
