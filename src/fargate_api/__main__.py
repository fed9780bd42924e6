from fargate_api.cli import main

main()
