from phonghop.server.cli import main

main()
