package convert

type kresult struct {
	sections []*section
	issues   []Issue
}

func convertKeepalived(file string, src []byte, fronts []string, haveHAProxy bool, readFile func(string) ([]byte, error), glob func(string) ([]string, error)) *kresult {
	return &kresult{}
}
