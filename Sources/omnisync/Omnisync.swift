@main
struct Omnisync {
    static func main() async {
        print("omnisync")
    }
}
